import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from './google/protobuf/Empty.js';
import type { ConnectionAddr as _registry_ConnectionAddr, ConnectionAddr__Output as _registry_ConnectionAddr__Output } from './registry/ConnectionAddr.js';
import type { Node as _registry_Node, Node__Output as _registry_Node__Output } from './registry/Node.js';
import type { Nodes as _registry_Nodes, Nodes__Output as _registry_Nodes__Output } from './registry/Nodes.js';
import type { RegisterInfo as _registry_RegisterInfo, RegisterInfo__Output as _registry_RegisterInfo__Output } from './registry/RegisterInfo.js';
import type { RegistryClient as _registry_RegistryClient, RegistryDefinition as _registry_RegistryDefinition } from './registry/Registry.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      Empty: MessageTypeDefinition<_google_protobuf_Empty, _google_protobuf_Empty__Output>
    }
  }
  registry: {
    ConnectionAddr: MessageTypeDefinition<_registry_ConnectionAddr, _registry_ConnectionAddr__Output>
    Node: MessageTypeDefinition<_registry_Node, _registry_Node__Output>
    Nodes: MessageTypeDefinition<_registry_Nodes, _registry_Nodes__Output>
    RegisterInfo: MessageTypeDefinition<_registry_RegisterInfo, _registry_RegisterInfo__Output>
    Registry: SubtypeConstructor<typeof grpc.Client, _registry_RegistryClient> & { service: _registry_RegistryDefinition }
  }
}

