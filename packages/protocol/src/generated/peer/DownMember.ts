// Original file: packages/protocol/proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';
import type { Long } from '@grpc/proto-loader';

export interface DownMember {
  'node'?: (_peer_NodeRef | null);
  'silent_ms'?: (number | string | Long);
}

export interface DownMember__Output {
  'node': (_peer_NodeRef__Output | null);
  'silent_ms': (string);
}
