// Original file: packages/protocol/proto/peer.proto

import type { Entry as _peer_Entry, Entry__Output as _peer_Entry__Output } from '../peer/Entry.js';

export interface WriteReply {
  'previous'?: (_peer_Entry | null);
  '_previous'?: "previous";
}

export interface WriteReply__Output {
  'previous'?: (_peer_Entry__Output | null);
  '_previous'?: "previous";
}
