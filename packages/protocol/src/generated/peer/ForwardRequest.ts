// Original file: packages/protocol/proto/peer.proto

import type { Query as _dht_Query, Query__Output as _dht_Query__Output } from '../dht/Query.js';

export interface ForwardRequest {
  'query'?: (_dht_Query | null);
  'hops'?: (number);
}

export interface ForwardRequest__Output {
  'query': (_dht_Query__Output | null);
  'hops': (number);
}
