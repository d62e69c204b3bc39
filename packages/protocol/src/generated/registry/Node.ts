// Original file: packages/protocol/proto/registry.proto

import type { Long } from '@grpc/proto-loader';

export interface Node {
  'id'?: (number | string | Long);
  'addr'?: (string);
}

export interface Node__Output {
  'id': (string);
  'addr': (string);
}
