// Original file: packages/protocol/proto/peer.proto


export interface RemoveReply {
  'removed'?: (number);
}

export interface RemoveReply__Output {
  'removed': (number);
}
