// Original file: packages/protocol/proto/registry.proto


export interface ConnectionAddr {
  'addr'?: (string);
}

export interface ConnectionAddr__Output {
  'addr': (string);
}
