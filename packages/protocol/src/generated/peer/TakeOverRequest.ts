// Original file: packages/protocol/proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';

export interface TakeOverRequest {
  'leaving'?: (_peer_NodeRef | null);
  'successors'?: (_peer_NodeRef)[];
}

export interface TakeOverRequest__Output {
  'leaving': (_peer_NodeRef__Output | null);
  'successors': (_peer_NodeRef__Output)[];
}
