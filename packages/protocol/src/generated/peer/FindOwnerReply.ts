// Original file: packages/protocol/proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';

export interface FindOwnerReply {
  'owner'?: (_peer_NodeRef | null);
  'successor'?: (_peer_NodeRef | null);
  'hops'?: (number);
}

export interface FindOwnerReply__Output {
  'owner': (_peer_NodeRef__Output | null);
  'successor': (_peer_NodeRef__Output | null);
  'hops': (number);
}
