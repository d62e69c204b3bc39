import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DhtNodeClient as _dht_DhtNodeClient, DhtNodeDefinition as _dht_DhtNodeDefinition } from './dht/DhtNode.js';
import type { Query as _dht_Query, Query__Output as _dht_Query__Output } from './dht/Query.js';
import type { QueryResult as _dht_QueryResult, QueryResult__Output as _dht_QueryResult__Output } from './dht/QueryResult.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  dht: {
    DhtNode: SubtypeConstructor<typeof grpc.Client, _dht_DhtNodeClient> & { service: _dht_DhtNodeDefinition }
    OperationType: EnumTypeDefinition
    Query: MessageTypeDefinition<_dht_Query, _dht_Query__Output>
    QueryResult: MessageTypeDefinition<_dht_QueryResult, _dht_QueryResult__Output>
  }
}

