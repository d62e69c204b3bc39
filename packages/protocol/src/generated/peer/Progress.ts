// Original file: packages/protocol/proto/peer.proto

import type { Long } from '@grpc/proto-loader';

export interface Progress {
  'done'?: (number | string | Long);
  'total'?: (number | string | Long);
  'keys_per_second'?: (number | string);
  'kind'?: (string);
}

export interface Progress__Output {
  'done': (string);
  'total': (string);
  'keys_per_second': (number);
  'kind': (string);
}
