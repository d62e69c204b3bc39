// Original file: proto/peer.proto


export interface FetchReply {
  'value'?: (Buffer | Uint8Array | string);
  '_value'?: "value";
}

export interface FetchReply__Output {
  'value'?: (Buffer);
  '_value'?: "value";
}
