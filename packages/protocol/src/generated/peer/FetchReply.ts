// Original file: packages/protocol/proto/peer.proto

import type { Entry as _peer_Entry, Entry__Output as _peer_Entry__Output } from '../peer/Entry.js';

export interface FetchReply {
  'value'?: (Buffer | Uint8Array | string);
  'entry'?: (_peer_Entry | null);
  '_value'?: "value";
  '_entry'?: "entry";
}

export interface FetchReply__Output {
  'value'?: (Buffer);
  'entry'?: (_peer_Entry__Output | null);
  '_value'?: "value";
  '_entry'?: "entry";
}
