// Original file: proto/peer.proto


export interface Entry {
  'key'?: (Buffer | Uint8Array | string);
  'value'?: (Buffer | Uint8Array | string);
}

export interface Entry__Output {
  'key': (Buffer);
  'value': (Buffer);
}
