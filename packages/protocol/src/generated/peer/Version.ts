// Original file: packages/protocol/proto/peer.proto

import type { Long } from '@grpc/proto-loader';

export interface Version {
  'hlc'?: (number | string | Long);
  'writer'?: (number | string | Long);
}

export interface Version__Output {
  'hlc': (string);
  'writer': (string);
}
