// Original file: packages/protocol/proto/peer.proto

import type { Entry as _peer_Entry, Entry__Output as _peer_Entry__Output } from '../peer/Entry.js';

export interface WriteRequest {
  'entry'?: (_peer_Entry | null);
}

export interface WriteRequest__Output {
  'entry': (_peer_Entry__Output | null);
}
