// Original file: packages/protocol/proto/peer.proto


export interface FetchRequest {
  'key'?: (Buffer | Uint8Array | string);
}

export interface FetchRequest__Output {
  'key': (Buffer);
}
