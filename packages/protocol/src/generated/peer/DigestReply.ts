// Original file: packages/protocol/proto/peer.proto

import type { Long } from '@grpc/proto-loader';

export interface DigestReply {
  'hashes'?: (number | string | Long)[];
  'counts'?: (number)[];
}

export interface DigestReply__Output {
  'hashes': (string)[];
  'counts': (number)[];
}
