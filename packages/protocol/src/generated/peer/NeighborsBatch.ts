// Original file: packages/protocol/proto/peer.proto

import type { Neighbors as _peer_Neighbors, Neighbors__Output as _peer_Neighbors__Output } from '../peer/Neighbors.js';

export interface NeighborsBatch {
  'neighbors'?: (_peer_Neighbors)[];
}

export interface NeighborsBatch__Output {
  'neighbors': (_peer_Neighbors__Output)[];
}
