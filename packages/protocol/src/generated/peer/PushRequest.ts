// Original file: packages/protocol/proto/peer.proto

import type { Entry as _peer_Entry, Entry__Output as _peer_Entry__Output } from '../peer/Entry.js';

export interface PushRequest {
  'entries'?: (_peer_Entry)[];
}

export interface PushRequest__Output {
  'entries': (_peer_Entry__Output)[];
}
