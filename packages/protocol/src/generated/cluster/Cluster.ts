// Original file: packages/protocol/proto/cluster.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from '../google/protobuf/Empty.js';
import type { NodeStatus as _peer_NodeStatus, NodeStatus__Output as _peer_NodeStatus__Output } from '../peer/NodeStatus.js';
import type { RemoveReply as _peer_RemoveReply, RemoveReply__Output as _peer_RemoveReply__Output } from '../peer/RemoveReply.js';
import type { RemoveRequest as _peer_RemoveRequest, RemoveRequest__Output as _peer_RemoveRequest__Output } from '../peer/RemoveRequest.js';
import type { StatusAllReply as _peer_StatusAllReply, StatusAllReply__Output as _peer_StatusAllReply__Output } from '../peer/StatusAllReply.js';

export interface ClusterClient extends grpc.Client {
  Remove(argument: _peer_RemoveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _peer_RemoveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _peer_RemoveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _peer_RemoveRequest, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _peer_RemoveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _peer_RemoveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _peer_RemoveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _peer_RemoveRequest, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  
  Status(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  
  StatusAll(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  StatusAll(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  StatusAll(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  StatusAll(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  statusAll(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  statusAll(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  statusAll(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  statusAll(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  
}

export interface ClusterHandlers extends grpc.UntypedServiceImplementation {
  Remove: grpc.handleUnaryCall<_peer_RemoveRequest__Output, _peer_RemoveReply>;
  
  Status: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _peer_NodeStatus>;
  
  StatusAll: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _peer_StatusAllReply>;
  
}

export interface ClusterDefinition extends grpc.ServiceDefinition {
  Remove: MethodDefinition<_peer_RemoveRequest, _peer_RemoveReply, _peer_RemoveRequest__Output, _peer_RemoveReply__Output>
  Status: MethodDefinition<_google_protobuf_Empty, _peer_NodeStatus, _google_protobuf_Empty__Output, _peer_NodeStatus__Output>
  StatusAll: MethodDefinition<_google_protobuf_Empty, _peer_StatusAllReply, _google_protobuf_Empty__Output, _peer_StatusAllReply__Output>
}
