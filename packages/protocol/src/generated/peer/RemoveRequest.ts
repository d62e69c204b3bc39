// Original file: packages/protocol/proto/peer.proto


export interface RemoveRequest {
  'addr'?: (string);
}

export interface RemoveRequest__Output {
  'addr': (string);
}
