// Original file: packages/protocol/proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';

export interface PredecessorLeftRequest {
  'leaving'?: (_peer_NodeRef | null);
  'predecessor'?: (_peer_NodeRef | null);
}

export interface PredecessorLeftRequest__Output {
  'leaving': (_peer_NodeRef__Output | null);
  'predecessor': (_peer_NodeRef__Output | null);
}
