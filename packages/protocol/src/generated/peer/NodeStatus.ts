// Original file: packages/protocol/proto/peer.proto

import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from '../peer/NodeRef.js';
import type { Progress as _peer_Progress, Progress__Output as _peer_Progress__Output } from '../peer/Progress.js';
import type { DownMember as _peer_DownMember, DownMember__Output as _peer_DownMember__Output } from '../peer/DownMember.js';
import type { Long } from '@grpc/proto-loader';

export interface NodeStatus {
  'self'?: (_peer_NodeRef | null);
  'predecessor'?: (_peer_NodeRef | null);
  'successors'?: (_peer_NodeRef)[];
  'key_count'?: (number | string | Long);
  'phase'?: (string);
  'owned_key_count'?: (number | string | Long);
  'replicas'?: (number);
  'replicated_key_count'?: (number | string | Long);
  'repair'?: (_peer_Progress | null);
  'tombstone_count'?: (number | string | Long);
  'down'?: (_peer_DownMember)[];
  'members'?: (number);
  'http_port'?: (number);
  '_predecessor'?: "predecessor";
  '_repair'?: "repair";
}

export interface NodeStatus__Output {
  'self': (_peer_NodeRef__Output | null);
  'predecessor'?: (_peer_NodeRef__Output | null);
  'successors': (_peer_NodeRef__Output)[];
  'key_count': (string);
  'phase': (string);
  'owned_key_count': (string);
  'replicas': (number);
  'replicated_key_count': (string);
  'repair'?: (_peer_Progress__Output | null);
  'tombstone_count': (string);
  'down': (_peer_DownMember__Output)[];
  'members': (number);
  'http_port': (number);
  '_predecessor'?: "predecessor";
  '_repair'?: "repair";
}
