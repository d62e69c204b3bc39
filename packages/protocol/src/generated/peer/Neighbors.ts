// Original file: packages/protocol/proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';

export interface Neighbors {
  'self'?: (_peer_NodeRef | null);
  'predecessor'?: (_peer_NodeRef | null);
  'successors'?: (_peer_NodeRef)[];
  'gone'?: (_peer_NodeRef)[];
  'phase'?: (string);
  '_predecessor'?: "predecessor";
}

export interface Neighbors__Output {
  'self': (_peer_NodeRef__Output | null);
  'predecessor'?: (_peer_NodeRef__Output | null);
  'successors': (_peer_NodeRef__Output)[];
  'gone': (_peer_NodeRef__Output)[];
  'phase': (string);
  '_predecessor'?: "predecessor";
}
