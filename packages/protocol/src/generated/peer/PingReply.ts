// Original file: packages/protocol/proto/peer.proto


export interface PingReply {
  'vnodes'?: (number);
}

export interface PingReply__Output {
  'vnodes': (number);
}
