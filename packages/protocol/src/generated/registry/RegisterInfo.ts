// Original file: packages/protocol/proto/registry.proto

import type { Node as _registry_Node, Node__Output as _registry_Node__Output } from '../registry/Node.js';
import type { Long } from '@grpc/proto-loader';

export interface RegisterInfo {
  'id'?: (number | string | Long);
  'neighbor'?: (_registry_Node | null);
}

export interface RegisterInfo__Output {
  'id': (string);
  'neighbor': (_registry_Node__Output | null);
}
