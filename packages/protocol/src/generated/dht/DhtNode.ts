// Original file: packages/protocol/proto/dht.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Query as _dht_Query, Query__Output as _dht_Query__Output } from '../dht/Query.js';
import type { QueryResult as _dht_QueryResult, QueryResult__Output as _dht_QueryResult__Output } from '../dht/QueryResult.js';

export interface DhtNodeClient extends grpc.Client {
  QueryDht(argument: _dht_Query, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  QueryDht(argument: _dht_Query, metadata: grpc.Metadata, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  QueryDht(argument: _dht_Query, options: grpc.CallOptions, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  QueryDht(argument: _dht_Query, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  queryDht(argument: _dht_Query, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  queryDht(argument: _dht_Query, metadata: grpc.Metadata, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  queryDht(argument: _dht_Query, options: grpc.CallOptions, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  queryDht(argument: _dht_Query, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  
}

export interface DhtNodeHandlers extends grpc.UntypedServiceImplementation {
  QueryDht: grpc.handleUnaryCall<_dht_Query__Output, _dht_QueryResult>;
  
}

export interface DhtNodeDefinition extends grpc.ServiceDefinition {
  QueryDht: MethodDefinition<_dht_Query, _dht_QueryResult, _dht_Query__Output, _dht_QueryResult__Output>
}
