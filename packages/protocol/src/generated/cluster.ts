import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ClusterClient as _cluster_ClusterClient, ClusterDefinition as _cluster_ClusterDefinition } from './cluster/Cluster.js';
import type { DhtNodeClient as _dht_DhtNodeClient, DhtNodeDefinition as _dht_DhtNodeDefinition } from './dht/DhtNode.js';
import type { Query as _dht_Query, Query__Output as _dht_Query__Output } from './dht/Query.js';
import type { QueryResult as _dht_QueryResult, QueryResult__Output as _dht_QueryResult__Output } from './dht/QueryResult.js';
import type { Empty as _google_protobuf_Empty, Empty__Output as _google_protobuf_Empty__Output } from './google/protobuf/Empty.js';
import type { DigestReply as _peer_DigestReply, DigestReply__Output as _peer_DigestReply__Output } from './peer/DigestReply.js';
import type { DigestRequest as _peer_DigestRequest, DigestRequest__Output as _peer_DigestRequest__Output } from './peer/DigestRequest.js';
import type { DownMember as _peer_DownMember, DownMember__Output as _peer_DownMember__Output } from './peer/DownMember.js';
import type { Entry as _peer_Entry, Entry__Output as _peer_Entry__Output } from './peer/Entry.js';
import type { FetchReply as _peer_FetchReply, FetchReply__Output as _peer_FetchReply__Output } from './peer/FetchReply.js';
import type { FetchRequest as _peer_FetchRequest, FetchRequest__Output as _peer_FetchRequest__Output } from './peer/FetchRequest.js';
import type { FindOwnerReply as _peer_FindOwnerReply, FindOwnerReply__Output as _peer_FindOwnerReply__Output } from './peer/FindOwnerReply.js';
import type { FindOwnerRequest as _peer_FindOwnerRequest, FindOwnerRequest__Output as _peer_FindOwnerRequest__Output } from './peer/FindOwnerRequest.js';
import type { ForwardRequest as _peer_ForwardRequest, ForwardRequest__Output as _peer_ForwardRequest__Output } from './peer/ForwardRequest.js';
import type { JoinReply as _peer_JoinReply, JoinReply__Output as _peer_JoinReply__Output } from './peer/JoinReply.js';
import type { JoinRequest as _peer_JoinRequest, JoinRequest__Output as _peer_JoinRequest__Output } from './peer/JoinRequest.js';
import type { Neighbors as _peer_Neighbors, Neighbors__Output as _peer_Neighbors__Output } from './peer/Neighbors.js';
import type { NeighborsBatch as _peer_NeighborsBatch, NeighborsBatch__Output as _peer_NeighborsBatch__Output } from './peer/NeighborsBatch.js';
import type { NeighborsBatchRequest as _peer_NeighborsBatchRequest, NeighborsBatchRequest__Output as _peer_NeighborsBatchRequest__Output } from './peer/NeighborsBatchRequest.js';
import type { NodeRef as _peer_NodeRef, NodeRef__Output as _peer_NodeRef__Output } from './peer/NodeRef.js';
import type { NodeStatus as _peer_NodeStatus, NodeStatus__Output as _peer_NodeStatus__Output } from './peer/NodeStatus.js';
import type { NotifyRequest as _peer_NotifyRequest, NotifyRequest__Output as _peer_NotifyRequest__Output } from './peer/NotifyRequest.js';
import type { PeerClient as _peer_PeerClient, PeerDefinition as _peer_PeerDefinition } from './peer/Peer.js';
import type { PingReply as _peer_PingReply, PingReply__Output as _peer_PingReply__Output } from './peer/PingReply.js';
import type { PredecessorLeftRequest as _peer_PredecessorLeftRequest, PredecessorLeftRequest__Output as _peer_PredecessorLeftRequest__Output } from './peer/PredecessorLeftRequest.js';
import type { Progress as _peer_Progress, Progress__Output as _peer_Progress__Output } from './peer/Progress.js';
import type { PushRequest as _peer_PushRequest, PushRequest__Output as _peer_PushRequest__Output } from './peer/PushRequest.js';
import type { RangeRequest as _peer_RangeRequest, RangeRequest__Output as _peer_RangeRequest__Output } from './peer/RangeRequest.js';
import type { RemoveReply as _peer_RemoveReply, RemoveReply__Output as _peer_RemoveReply__Output } from './peer/RemoveReply.js';
import type { RemoveRequest as _peer_RemoveRequest, RemoveRequest__Output as _peer_RemoveRequest__Output } from './peer/RemoveRequest.js';
import type { StatusAllReply as _peer_StatusAllReply, StatusAllReply__Output as _peer_StatusAllReply__Output } from './peer/StatusAllReply.js';
import type { TakeOverRequest as _peer_TakeOverRequest, TakeOverRequest__Output as _peer_TakeOverRequest__Output } from './peer/TakeOverRequest.js';
import type { Version as _peer_Version, Version__Output as _peer_Version__Output } from './peer/Version.js';
import type { WriteReply as _peer_WriteReply, WriteReply__Output as _peer_WriteReply__Output } from './peer/WriteReply.js';
import type { WriteRequest as _peer_WriteRequest, WriteRequest__Output as _peer_WriteRequest__Output } from './peer/WriteRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  cluster: {
    Cluster: SubtypeConstructor<typeof grpc.Client, _cluster_ClusterClient> & { service: _cluster_ClusterDefinition }
  }
  dht: {
    DhtNode: SubtypeConstructor<typeof grpc.Client, _dht_DhtNodeClient> & { service: _dht_DhtNodeDefinition }
    OperationType: EnumTypeDefinition
    Query: MessageTypeDefinition<_dht_Query, _dht_Query__Output>
    QueryResult: MessageTypeDefinition<_dht_QueryResult, _dht_QueryResult__Output>
  }
  google: {
    protobuf: {
      Empty: MessageTypeDefinition<_google_protobuf_Empty, _google_protobuf_Empty__Output>
    }
  }
  peer: {
    DigestReply: MessageTypeDefinition<_peer_DigestReply, _peer_DigestReply__Output>
    DigestRequest: MessageTypeDefinition<_peer_DigestRequest, _peer_DigestRequest__Output>
    DownMember: MessageTypeDefinition<_peer_DownMember, _peer_DownMember__Output>
    Entry: MessageTypeDefinition<_peer_Entry, _peer_Entry__Output>
    FetchReply: MessageTypeDefinition<_peer_FetchReply, _peer_FetchReply__Output>
    FetchRequest: MessageTypeDefinition<_peer_FetchRequest, _peer_FetchRequest__Output>
    FindOwnerReply: MessageTypeDefinition<_peer_FindOwnerReply, _peer_FindOwnerReply__Output>
    FindOwnerRequest: MessageTypeDefinition<_peer_FindOwnerRequest, _peer_FindOwnerRequest__Output>
    ForwardRequest: MessageTypeDefinition<_peer_ForwardRequest, _peer_ForwardRequest__Output>
    JoinReply: MessageTypeDefinition<_peer_JoinReply, _peer_JoinReply__Output>
    JoinRequest: MessageTypeDefinition<_peer_JoinRequest, _peer_JoinRequest__Output>
    Neighbors: MessageTypeDefinition<_peer_Neighbors, _peer_Neighbors__Output>
    NeighborsBatch: MessageTypeDefinition<_peer_NeighborsBatch, _peer_NeighborsBatch__Output>
    NeighborsBatchRequest: MessageTypeDefinition<_peer_NeighborsBatchRequest, _peer_NeighborsBatchRequest__Output>
    NodeRef: MessageTypeDefinition<_peer_NodeRef, _peer_NodeRef__Output>
    NodeStatus: MessageTypeDefinition<_peer_NodeStatus, _peer_NodeStatus__Output>
    NotifyRequest: MessageTypeDefinition<_peer_NotifyRequest, _peer_NotifyRequest__Output>
    Peer: SubtypeConstructor<typeof grpc.Client, _peer_PeerClient> & { service: _peer_PeerDefinition }
    PingReply: MessageTypeDefinition<_peer_PingReply, _peer_PingReply__Output>
    PredecessorLeftRequest: MessageTypeDefinition<_peer_PredecessorLeftRequest, _peer_PredecessorLeftRequest__Output>
    Progress: MessageTypeDefinition<_peer_Progress, _peer_Progress__Output>
    PushRequest: MessageTypeDefinition<_peer_PushRequest, _peer_PushRequest__Output>
    RangeRequest: MessageTypeDefinition<_peer_RangeRequest, _peer_RangeRequest__Output>
    RemoveReply: MessageTypeDefinition<_peer_RemoveReply, _peer_RemoveReply__Output>
    RemoveRequest: MessageTypeDefinition<_peer_RemoveRequest, _peer_RemoveRequest__Output>
    StatusAllReply: MessageTypeDefinition<_peer_StatusAllReply, _peer_StatusAllReply__Output>
    TakeOverRequest: MessageTypeDefinition<_peer_TakeOverRequest, _peer_TakeOverRequest__Output>
    Version: MessageTypeDefinition<_peer_Version, _peer_Version__Output>
    WriteReply: MessageTypeDefinition<_peer_WriteReply, _peer_WriteReply__Output>
    WriteRequest: MessageTypeDefinition<_peer_WriteRequest, _peer_WriteRequest__Output>
  }
}

