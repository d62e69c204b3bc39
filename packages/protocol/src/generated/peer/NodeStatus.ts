// Original file: proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';
import type { Long } from '@grpc/proto-loader';

export interface NodeStatus {
  'self'?: (_peer_NodeRef | null);
  'predecessor'?: (_peer_NodeRef | null);
  'successors'?: (_peer_NodeRef)[];
  'key_count'?: (number | string | Long);
  'phase'?: (string);
  'owned_key_count'?: (number | string | Long);
  '_predecessor'?: "predecessor";
}

export interface NodeStatus__Output {
  'self': (_peer_NodeRef__Output | null);
  'predecessor'?: (_peer_NodeRef__Output | null);
  'successors': (_peer_NodeRef__Output)[];
  'key_count': (string);
  'phase': (string);
  'owned_key_count': (string);
  '_predecessor'?: "predecessor";
}
