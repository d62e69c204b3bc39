// Original file: packages/protocol/proto/peer.proto

import type { Version as _peer_Version, Version__Output as _peer_Version__Output } from '../peer/Version.js';

export interface Entry {
  'key'?: (Buffer | Uint8Array | string);
  'value'?: (Buffer | Uint8Array | string);
  'version'?: (_peer_Version | null);
  'tombstone'?: (boolean);
}

export interface Entry__Output {
  'key': (Buffer);
  'value': (Buffer);
  'version': (_peer_Version__Output | null);
  'tombstone': (boolean);
}
