// Original file: packages/protocol/proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';

export interface JoinRequest {
  'node'?: (_peer_NodeRef | null);
}

export interface JoinRequest__Output {
  'node': (_peer_NodeRef__Output | null);
}
