// Original file: packages/protocol/proto/registry.proto

import type { Node as _registry_Node, Node__Output as _registry_Node__Output } from '../registry/Node.js';

export interface Nodes {
  'nodes'?: (_registry_Node)[];
}

export interface Nodes__Output {
  'nodes': (_registry_Node__Output)[];
}
