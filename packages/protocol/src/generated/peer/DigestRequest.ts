// Original file: packages/protocol/proto/peer.proto

import type { Long } from '@grpc/proto-loader';

export interface DigestRequest {
  'start'?: (number | string | Long);
  'end'?: (number | string | Long);
  'buckets'?: (number);
}

export interface DigestRequest__Output {
  'start': (string);
  'end': (string);
  'buckets': (number);
}
