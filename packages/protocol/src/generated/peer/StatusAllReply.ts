// Original file: packages/protocol/proto/peer.proto

import type { NodeStatus as _peer_NodeStatus, NodeStatus__Output as _peer_NodeStatus__Output } from '../peer/NodeStatus.js';

export interface StatusAllReply {
  'statuses'?: (_peer_NodeStatus)[];
}

export interface StatusAllReply__Output {
  'statuses': (_peer_NodeStatus__Output)[];
}
