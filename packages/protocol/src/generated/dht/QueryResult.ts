// Original file: packages/protocol/proto/dht.proto


export interface QueryResult {
  'error'?: (string);
  'value'?: (Buffer | Uint8Array | string);
  'hops'?: (number);
  '_error'?: "error";
  '_value'?: "value";
}

export interface QueryResult__Output {
  'error'?: (string);
  'value'?: (Buffer);
  'hops': (number);
  '_error'?: "error";
  '_value'?: "value";
}
