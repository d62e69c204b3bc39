// Original file: packages/protocol/proto/registry.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ConnectionAddr as _registry_ConnectionAddr, ConnectionAddr__Output as _registry_ConnectionAddr__Output } from '../registry/ConnectionAddr.js';
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from '../google/protobuf/Empty.js';
import type { Nodes as _registry_Nodes, Nodes__Output as _registry_Nodes__Output } from '../registry/Nodes.js';
import type { RegisterInfo as _registry_RegisterInfo, RegisterInfo__Output as _registry_RegisterInfo__Output } from '../registry/RegisterInfo.js';

export interface RegistryClient extends grpc.Client {
  ConfirmNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  ConfirmNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  ConfirmNode(argument: _registry_ConnectionAddr, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  ConfirmNode(argument: _registry_ConnectionAddr, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  confirmNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  confirmNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  confirmNode(argument: _registry_ConnectionAddr, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  confirmNode(argument: _registry_ConnectionAddr, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
  GetConnectedNodes(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_Nodes__Output>): grpc.ClientUnaryCall;
  GetConnectedNodes(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_Nodes__Output>): grpc.ClientUnaryCall;
  GetConnectedNodes(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_Nodes__Output>): grpc.ClientUnaryCall;
  GetConnectedNodes(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_registry_Nodes__Output>): grpc.ClientUnaryCall;
  getConnectedNodes(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_Nodes__Output>): grpc.ClientUnaryCall;
  getConnectedNodes(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_Nodes__Output>): grpc.ClientUnaryCall;
  getConnectedNodes(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_Nodes__Output>): grpc.ClientUnaryCall;
  getConnectedNodes(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_registry_Nodes__Output>): grpc.ClientUnaryCall;
  
  RegisterNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_RegisterInfo__Output>): grpc.ClientUnaryCall;
  RegisterNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_RegisterInfo__Output>): grpc.ClientUnaryCall;
  RegisterNode(argument: _registry_ConnectionAddr, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_RegisterInfo__Output>): grpc.ClientUnaryCall;
  RegisterNode(argument: _registry_ConnectionAddr, callback: grpc.requestCallback<_registry_RegisterInfo__Output>): grpc.ClientUnaryCall;
  registerNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_RegisterInfo__Output>): grpc.ClientUnaryCall;
  registerNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_RegisterInfo__Output>): grpc.ClientUnaryCall;
  registerNode(argument: _registry_ConnectionAddr, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_RegisterInfo__Output>): grpc.ClientUnaryCall;
  registerNode(argument: _registry_ConnectionAddr, callback: grpc.requestCallback<_registry_RegisterInfo__Output>): grpc.ClientUnaryCall;
  
  UnregisterNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  UnregisterNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  UnregisterNode(argument: _registry_ConnectionAddr, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  UnregisterNode(argument: _registry_ConnectionAddr, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregisterNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregisterNode(argument: _registry_ConnectionAddr, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregisterNode(argument: _registry_ConnectionAddr, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  unregisterNode(argument: _registry_ConnectionAddr, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
}

export interface RegistryHandlers extends grpc.UntypedServiceImplementation {
  ConfirmNode: grpc.handleUnaryCall<_registry_ConnectionAddr__Output, _google_protobuf_Empty>;
  
  GetConnectedNodes: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _registry_Nodes>;
  
  RegisterNode: grpc.handleUnaryCall<_registry_ConnectionAddr__Output, _registry_RegisterInfo>;
  
  UnregisterNode: grpc.handleUnaryCall<_registry_ConnectionAddr__Output, _google_protobuf_Empty>;
  
}

export interface RegistryDefinition extends grpc.ServiceDefinition {
  ConfirmNode: MethodDefinition<_registry_ConnectionAddr, _google_protobuf_Empty, _registry_ConnectionAddr__Output, _google_protobuf_Empty__Output>
  GetConnectedNodes: MethodDefinition<_google_protobuf_Empty, _registry_Nodes, _google_protobuf_Empty__Output, _registry_Nodes__Output>
  RegisterNode: MethodDefinition<_registry_ConnectionAddr, _registry_RegisterInfo, _registry_ConnectionAddr__Output, _registry_RegisterInfo__Output>
  UnregisterNode: MethodDefinition<_registry_ConnectionAddr, _google_protobuf_Empty, _registry_ConnectionAddr__Output, _google_protobuf_Empty__Output>
}
