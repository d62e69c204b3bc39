// Original file: packages/protocol/proto/peer.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeRef {
  'id'?: (number | string | Long);
  'addr'?: (string);
}

export interface NodeRef__Output {
  'id': (string);
  'addr': (string);
}
