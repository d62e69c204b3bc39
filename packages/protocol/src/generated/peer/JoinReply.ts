// Original file: packages/protocol/proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';

export interface JoinReply {
  'predecessor'?: (_peer_NodeRef | null);
  'successor'?: (_peer_NodeRef | null);
}

export interface JoinReply__Output {
  'predecessor': (_peer_NodeRef__Output | null);
  'successor': (_peer_NodeRef__Output | null);
}
