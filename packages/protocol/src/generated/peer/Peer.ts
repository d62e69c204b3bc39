// Original file: packages/protocol/proto/peer.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DigestReply as _peer_DigestReply, DigestReply__Output as _peer_DigestReply__Output } from '../peer/DigestReply.js';
import type { DigestRequest as _peer_DigestRequest, DigestRequest__Output as _peer_DigestRequest__Output } from '../peer/DigestRequest.js';
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from '../google/protobuf/Empty.js';
import type { Entry as _peer_Entry, Entry__Output as _peer_Entry__Output } from '../peer/Entry.js';
import type { FetchReply as _peer_FetchReply, FetchReply__Output as _peer_FetchReply__Output } from '../peer/FetchReply.js';
import type { FetchRequest as _peer_FetchRequest, FetchRequest__Output as _peer_FetchRequest__Output } from '../peer/FetchRequest.js';
import type { FindOwnerReply as _peer_FindOwnerReply, FindOwnerReply__Output as _peer_FindOwnerReply__Output } from '../peer/FindOwnerReply.js';
import type { FindOwnerRequest as _peer_FindOwnerRequest, FindOwnerRequest__Output as _peer_FindOwnerRequest__Output } from '../peer/FindOwnerRequest.js';
import type { ForwardRequest as _peer_ForwardRequest, ForwardRequest__Output as _peer_ForwardRequest__Output } from '../peer/ForwardRequest.js';
import type { JoinReply as _peer_JoinReply, JoinReply__Output as _peer_JoinReply__Output } from '../peer/JoinReply.js';
import type { JoinRequest as _peer_JoinRequest, JoinRequest__Output as _peer_JoinRequest__Output } from '../peer/JoinRequest.js';
import type { Neighbors as _peer_Neighbors, Neighbors__Output as _peer_Neighbors__Output } from '../peer/Neighbors.js';
import type { NeighborsBatch as _peer_NeighborsBatch, NeighborsBatch__Output as _peer_NeighborsBatch__Output } from '../peer/NeighborsBatch.js';
import type { NeighborsBatchRequest as _peer_NeighborsBatchRequest, NeighborsBatchRequest__Output as _peer_NeighborsBatchRequest__Output } from '../peer/NeighborsBatchRequest.js';
import type { NodeStatus as _peer_NodeStatus, NodeStatus__Output as _peer_NodeStatus__Output } from '../peer/NodeStatus.js';
import type { NotifyRequest as _peer_NotifyRequest, NotifyRequest__Output as _peer_NotifyRequest__Output } from '../peer/NotifyRequest.js';
import type { PingReply as _peer_PingReply, PingReply__Output as _peer_PingReply__Output } from '../peer/PingReply.js';
import type { PredecessorLeftRequest as _peer_PredecessorLeftRequest, PredecessorLeftRequest__Output as _peer_PredecessorLeftRequest__Output } from '../peer/PredecessorLeftRequest.js';
import type { PushRequest as _peer_PushRequest, PushRequest__Output as _peer_PushRequest__Output } from '../peer/PushRequest.js';
import type { QueryResult as _dht_QueryResult, QueryResult__Output as _dht_QueryResult__Output } from '../dht/QueryResult.js';
import type { RangeRequest as _peer_RangeRequest, RangeRequest__Output as _peer_RangeRequest__Output } from '../peer/RangeRequest.js';
import type { RemoveReply as _peer_RemoveReply, RemoveReply__Output as _peer_RemoveReply__Output } from '../peer/RemoveReply.js';
import type { RemoveRequest as _peer_RemoveRequest, RemoveRequest__Output as _peer_RemoveRequest__Output } from '../peer/RemoveRequest.js';
import type { StatusAllReply as _peer_StatusAllReply, StatusAllReply__Output as _peer_StatusAllReply__Output } from '../peer/StatusAllReply.js';
import type { TakeOverRequest as _peer_TakeOverRequest, TakeOverRequest__Output as _peer_TakeOverRequest__Output } from '../peer/TakeOverRequest.js';
import type { WriteReply as _peer_WriteReply, WriteReply__Output as _peer_WriteReply__Output } from '../peer/WriteReply.js';
import type { WriteRequest as _peer_WriteRequest, WriteRequest__Output as _peer_WriteRequest__Output } from '../peer/WriteRequest.js';

export interface PeerClient extends grpc.Client {
  Digest(argument: _peer_DigestRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_DigestReply__Output>): grpc.ClientUnaryCall;
  Digest(argument: _peer_DigestRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_DigestReply__Output>): grpc.ClientUnaryCall;
  Digest(argument: _peer_DigestRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_DigestReply__Output>): grpc.ClientUnaryCall;
  Digest(argument: _peer_DigestRequest, callback: grpc.requestCallback<_peer_DigestReply__Output>): grpc.ClientUnaryCall;
  digest(argument: _peer_DigestRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_DigestReply__Output>): grpc.ClientUnaryCall;
  digest(argument: _peer_DigestRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_DigestReply__Output>): grpc.ClientUnaryCall;
  digest(argument: _peer_DigestRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_DigestReply__Output>): grpc.ClientUnaryCall;
  digest(argument: _peer_DigestRequest, callback: grpc.requestCallback<_peer_DigestReply__Output>): grpc.ClientUnaryCall;
  
  Fetch(argument: _peer_FetchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_FetchReply__Output>): grpc.ClientUnaryCall;
  Fetch(argument: _peer_FetchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_FetchReply__Output>): grpc.ClientUnaryCall;
  Fetch(argument: _peer_FetchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_FetchReply__Output>): grpc.ClientUnaryCall;
  Fetch(argument: _peer_FetchRequest, callback: grpc.requestCallback<_peer_FetchReply__Output>): grpc.ClientUnaryCall;
  fetch(argument: _peer_FetchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_FetchReply__Output>): grpc.ClientUnaryCall;
  fetch(argument: _peer_FetchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_FetchReply__Output>): grpc.ClientUnaryCall;
  fetch(argument: _peer_FetchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_FetchReply__Output>): grpc.ClientUnaryCall;
  fetch(argument: _peer_FetchRequest, callback: grpc.requestCallback<_peer_FetchReply__Output>): grpc.ClientUnaryCall;
  
  FetchRange(argument: _peer_RangeRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_peer_Entry__Output>;
  FetchRange(argument: _peer_RangeRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_peer_Entry__Output>;
  fetchRange(argument: _peer_RangeRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_peer_Entry__Output>;
  fetchRange(argument: _peer_RangeRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_peer_Entry__Output>;
  
  FindOwner(argument: _peer_FindOwnerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_FindOwnerReply__Output>): grpc.ClientUnaryCall;
  FindOwner(argument: _peer_FindOwnerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_FindOwnerReply__Output>): grpc.ClientUnaryCall;
  FindOwner(argument: _peer_FindOwnerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_FindOwnerReply__Output>): grpc.ClientUnaryCall;
  FindOwner(argument: _peer_FindOwnerRequest, callback: grpc.requestCallback<_peer_FindOwnerReply__Output>): grpc.ClientUnaryCall;
  findOwner(argument: _peer_FindOwnerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_FindOwnerReply__Output>): grpc.ClientUnaryCall;
  findOwner(argument: _peer_FindOwnerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_FindOwnerReply__Output>): grpc.ClientUnaryCall;
  findOwner(argument: _peer_FindOwnerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_FindOwnerReply__Output>): grpc.ClientUnaryCall;
  findOwner(argument: _peer_FindOwnerRequest, callback: grpc.requestCallback<_peer_FindOwnerReply__Output>): grpc.ClientUnaryCall;
  
  Forward(argument: _peer_ForwardRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  Forward(argument: _peer_ForwardRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  Forward(argument: _peer_ForwardRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  Forward(argument: _peer_ForwardRequest, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  forward(argument: _peer_ForwardRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  forward(argument: _peer_ForwardRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  forward(argument: _peer_ForwardRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  forward(argument: _peer_ForwardRequest, callback: grpc.requestCallback<_dht_QueryResult__Output>): grpc.ClientUnaryCall;
  
  GetNeighbors(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_Neighbors__Output>): grpc.ClientUnaryCall;
  GetNeighbors(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_Neighbors__Output>): grpc.ClientUnaryCall;
  GetNeighbors(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_Neighbors__Output>): grpc.ClientUnaryCall;
  GetNeighbors(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_Neighbors__Output>): grpc.ClientUnaryCall;
  getNeighbors(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_Neighbors__Output>): grpc.ClientUnaryCall;
  getNeighbors(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_Neighbors__Output>): grpc.ClientUnaryCall;
  getNeighbors(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_Neighbors__Output>): grpc.ClientUnaryCall;
  getNeighbors(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_Neighbors__Output>): grpc.ClientUnaryCall;
  
  GetNeighborsBatch(argument: _peer_NeighborsBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NeighborsBatch__Output>): grpc.ClientUnaryCall;
  GetNeighborsBatch(argument: _peer_NeighborsBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_NeighborsBatch__Output>): grpc.ClientUnaryCall;
  GetNeighborsBatch(argument: _peer_NeighborsBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NeighborsBatch__Output>): grpc.ClientUnaryCall;
  GetNeighborsBatch(argument: _peer_NeighborsBatchRequest, callback: grpc.requestCallback<_peer_NeighborsBatch__Output>): grpc.ClientUnaryCall;
  getNeighborsBatch(argument: _peer_NeighborsBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NeighborsBatch__Output>): grpc.ClientUnaryCall;
  getNeighborsBatch(argument: _peer_NeighborsBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_NeighborsBatch__Output>): grpc.ClientUnaryCall;
  getNeighborsBatch(argument: _peer_NeighborsBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NeighborsBatch__Output>): grpc.ClientUnaryCall;
  getNeighborsBatch(argument: _peer_NeighborsBatchRequest, callback: grpc.requestCallback<_peer_NeighborsBatch__Output>): grpc.ClientUnaryCall;
  
  Join(argument: _peer_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _peer_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _peer_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _peer_JoinRequest, callback: grpc.requestCallback<_peer_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _peer_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _peer_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _peer_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _peer_JoinRequest, callback: grpc.requestCallback<_peer_JoinReply__Output>): grpc.ClientUnaryCall;
  
  Notify(argument: _peer_NotifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Notify(argument: _peer_NotifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Notify(argument: _peer_NotifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Notify(argument: _peer_NotifyRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  notify(argument: _peer_NotifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  notify(argument: _peer_NotifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  notify(argument: _peer_NotifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  notify(argument: _peer_NotifyRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
  Ping(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_PingReply__Output>): grpc.ClientUnaryCall;
  Ping(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_PingReply__Output>): grpc.ClientUnaryCall;
  Ping(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_PingReply__Output>): grpc.ClientUnaryCall;
  Ping(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_PingReply__Output>): grpc.ClientUnaryCall;
  ping(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_PingReply__Output>): grpc.ClientUnaryCall;
  ping(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_PingReply__Output>): grpc.ClientUnaryCall;
  ping(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_PingReply__Output>): grpc.ClientUnaryCall;
  ping(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_PingReply__Output>): grpc.ClientUnaryCall;
  
  PredecessorLeft(argument: _peer_PredecessorLeftRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  PredecessorLeft(argument: _peer_PredecessorLeftRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  PredecessorLeft(argument: _peer_PredecessorLeftRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  PredecessorLeft(argument: _peer_PredecessorLeftRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  predecessorLeft(argument: _peer_PredecessorLeftRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  predecessorLeft(argument: _peer_PredecessorLeftRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  predecessorLeft(argument: _peer_PredecessorLeftRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  predecessorLeft(argument: _peer_PredecessorLeftRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
  Push(argument: _peer_PushRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Push(argument: _peer_PushRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Push(argument: _peer_PushRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  Push(argument: _peer_PushRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  push(argument: _peer_PushRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  push(argument: _peer_PushRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  push(argument: _peer_PushRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  push(argument: _peer_PushRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
  ReleaseRange(argument: _peer_RangeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  ReleaseRange(argument: _peer_RangeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  ReleaseRange(argument: _peer_RangeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  ReleaseRange(argument: _peer_RangeRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  releaseRange(argument: _peer_RangeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  releaseRange(argument: _peer_RangeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  releaseRange(argument: _peer_RangeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  releaseRange(argument: _peer_RangeRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
  Remove(argument: _peer_RemoveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _peer_RemoveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _peer_RemoveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  Remove(argument: _peer_RemoveRequest, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _peer_RemoveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _peer_RemoveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _peer_RemoveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  remove(argument: _peer_RemoveRequest, callback: grpc.requestCallback<_peer_RemoveReply__Output>): grpc.ClientUnaryCall;
  
  Status(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  Status(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  status(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_NodeStatus__Output>): grpc.ClientUnaryCall;
  
  StatusAll(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  StatusAll(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  StatusAll(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  StatusAll(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  statusAll(argument: _google_protobuf_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  statusAll(argument: _google_protobuf_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  statusAll(argument: _google_protobuf_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  statusAll(argument: _google_protobuf_Empty, callback: grpc.requestCallback<_peer_StatusAllReply__Output>): grpc.ClientUnaryCall;
  
  TakeOver(argument: _peer_TakeOverRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  TakeOver(argument: _peer_TakeOverRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  TakeOver(argument: _peer_TakeOverRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  TakeOver(argument: _peer_TakeOverRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  takeOver(argument: _peer_TakeOverRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  takeOver(argument: _peer_TakeOverRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  takeOver(argument: _peer_TakeOverRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  takeOver(argument: _peer_TakeOverRequest, callback: grpc.requestCallback<_google_protobuf_Empty__Output>): grpc.ClientUnaryCall;
  
  Write(argument: _peer_WriteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_WriteReply__Output>): grpc.ClientUnaryCall;
  Write(argument: _peer_WriteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_WriteReply__Output>): grpc.ClientUnaryCall;
  Write(argument: _peer_WriteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_WriteReply__Output>): grpc.ClientUnaryCall;
  Write(argument: _peer_WriteRequest, callback: grpc.requestCallback<_peer_WriteReply__Output>): grpc.ClientUnaryCall;
  write(argument: _peer_WriteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_WriteReply__Output>): grpc.ClientUnaryCall;
  write(argument: _peer_WriteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_peer_WriteReply__Output>): grpc.ClientUnaryCall;
  write(argument: _peer_WriteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_peer_WriteReply__Output>): grpc.ClientUnaryCall;
  write(argument: _peer_WriteRequest, callback: grpc.requestCallback<_peer_WriteReply__Output>): grpc.ClientUnaryCall;
  
}

export interface PeerHandlers extends grpc.UntypedServiceImplementation {
  Digest: grpc.handleUnaryCall<_peer_DigestRequest__Output, _peer_DigestReply>;
  
  Fetch: grpc.handleUnaryCall<_peer_FetchRequest__Output, _peer_FetchReply>;
  
  FetchRange: grpc.handleServerStreamingCall<_peer_RangeRequest__Output, _peer_Entry>;
  
  FindOwner: grpc.handleUnaryCall<_peer_FindOwnerRequest__Output, _peer_FindOwnerReply>;
  
  Forward: grpc.handleUnaryCall<_peer_ForwardRequest__Output, _dht_QueryResult>;
  
  GetNeighbors: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _peer_Neighbors>;
  
  GetNeighborsBatch: grpc.handleUnaryCall<_peer_NeighborsBatchRequest__Output, _peer_NeighborsBatch>;
  
  Join: grpc.handleUnaryCall<_peer_JoinRequest__Output, _peer_JoinReply>;
  
  Notify: grpc.handleUnaryCall<_peer_NotifyRequest__Output, _google_protobuf_Empty>;
  
  Ping: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _peer_PingReply>;
  
  PredecessorLeft: grpc.handleUnaryCall<_peer_PredecessorLeftRequest__Output, _google_protobuf_Empty>;
  
  Push: grpc.handleUnaryCall<_peer_PushRequest__Output, _google_protobuf_Empty>;
  
  ReleaseRange: grpc.handleUnaryCall<_peer_RangeRequest__Output, _google_protobuf_Empty>;
  
  Remove: grpc.handleUnaryCall<_peer_RemoveRequest__Output, _peer_RemoveReply>;
  
  Status: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _peer_NodeStatus>;
  
  StatusAll: grpc.handleUnaryCall<_google_protobuf_Empty__Output, _peer_StatusAllReply>;
  
  TakeOver: grpc.handleUnaryCall<_peer_TakeOverRequest__Output, _google_protobuf_Empty>;
  
  Write: grpc.handleUnaryCall<_peer_WriteRequest__Output, _peer_WriteReply>;
  
}

export interface PeerDefinition extends grpc.ServiceDefinition {
  Digest: MethodDefinition<_peer_DigestRequest, _peer_DigestReply, _peer_DigestRequest__Output, _peer_DigestReply__Output>
  Fetch: MethodDefinition<_peer_FetchRequest, _peer_FetchReply, _peer_FetchRequest__Output, _peer_FetchReply__Output>
  FetchRange: MethodDefinition<_peer_RangeRequest, _peer_Entry, _peer_RangeRequest__Output, _peer_Entry__Output>
  FindOwner: MethodDefinition<_peer_FindOwnerRequest, _peer_FindOwnerReply, _peer_FindOwnerRequest__Output, _peer_FindOwnerReply__Output>
  Forward: MethodDefinition<_peer_ForwardRequest, _dht_QueryResult, _peer_ForwardRequest__Output, _dht_QueryResult__Output>
  GetNeighbors: MethodDefinition<_google_protobuf_Empty, _peer_Neighbors, _google_protobuf_Empty__Output, _peer_Neighbors__Output>
  GetNeighborsBatch: MethodDefinition<_peer_NeighborsBatchRequest, _peer_NeighborsBatch, _peer_NeighborsBatchRequest__Output, _peer_NeighborsBatch__Output>
  Join: MethodDefinition<_peer_JoinRequest, _peer_JoinReply, _peer_JoinRequest__Output, _peer_JoinReply__Output>
  Notify: MethodDefinition<_peer_NotifyRequest, _google_protobuf_Empty, _peer_NotifyRequest__Output, _google_protobuf_Empty__Output>
  Ping: MethodDefinition<_google_protobuf_Empty, _peer_PingReply, _google_protobuf_Empty__Output, _peer_PingReply__Output>
  PredecessorLeft: MethodDefinition<_peer_PredecessorLeftRequest, _google_protobuf_Empty, _peer_PredecessorLeftRequest__Output, _google_protobuf_Empty__Output>
  Push: MethodDefinition<_peer_PushRequest, _google_protobuf_Empty, _peer_PushRequest__Output, _google_protobuf_Empty__Output>
  ReleaseRange: MethodDefinition<_peer_RangeRequest, _google_protobuf_Empty, _peer_RangeRequest__Output, _google_protobuf_Empty__Output>
  Remove: MethodDefinition<_peer_RemoveRequest, _peer_RemoveReply, _peer_RemoveRequest__Output, _peer_RemoveReply__Output>
  Status: MethodDefinition<_google_protobuf_Empty, _peer_NodeStatus, _google_protobuf_Empty__Output, _peer_NodeStatus__Output>
  StatusAll: MethodDefinition<_google_protobuf_Empty, _peer_StatusAllReply, _google_protobuf_Empty__Output, _peer_StatusAllReply__Output>
  TakeOver: MethodDefinition<_peer_TakeOverRequest, _google_protobuf_Empty, _peer_TakeOverRequest__Output, _google_protobuf_Empty__Output>
  Write: MethodDefinition<_peer_WriteRequest, _peer_WriteReply, _peer_WriteRequest__Output, _peer_WriteReply__Output>
}
