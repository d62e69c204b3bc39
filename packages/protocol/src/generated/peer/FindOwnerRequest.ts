// Original file: packages/protocol/proto/peer.proto

import type { Long } from '@grpc/proto-loader';

export interface FindOwnerRequest {
  'position'?: (number | string | Long);
  'hops'?: (number);
}

export interface FindOwnerRequest__Output {
  'position': (string);
  'hops': (number);
}
