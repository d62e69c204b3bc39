// Original file: packages/protocol/proto/peer.proto


export interface NeighborsBatchRequest {
  'vnodes'?: (number)[];
}

export interface NeighborsBatchRequest__Output {
  'vnodes': (number)[];
}
