// Original file: packages/protocol/proto/dht.proto

export const OperationType = {
  Get: 'Get',
  Delete: 'Delete',
  Set: 'Set',
} as const;

export type OperationType =
  | 'Get'
  | 0
  | 'Delete'
  | 1
  | 'Set'
  | 2

export type OperationType__Output = typeof OperationType[keyof typeof OperationType]
