// Original file: packages/protocol/proto/dht.proto

import type { OperationType as _dht_OperationType, OperationType__Output as _dht_OperationType__Output } from '../dht/OperationType.js';

export interface Query {
  'ty'?: (_dht_OperationType);
  'key'?: (Buffer | Uint8Array | string);
  'value'?: (Buffer | Uint8Array | string);
  '_value'?: "value";
}

export interface Query__Output {
  'ty': (_dht_OperationType__Output);
  'key': (Buffer);
  'value'?: (Buffer);
  '_value'?: "value";
}
