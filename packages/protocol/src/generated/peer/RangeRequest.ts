// Original file: packages/protocol/proto/peer.proto

import type { Long } from '@grpc/proto-loader';

export interface RangeRequest {
  'start'?: (number | string | Long);
  'end'?: (number | string | Long);
}

export interface RangeRequest__Output {
  'start': (string);
  'end': (string);
}
