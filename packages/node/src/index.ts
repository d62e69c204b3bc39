/**
 * A Crusty Ring DHT node as Effect services and layers. `Node.layer` assembles one from a
 * `NodeConfig`, a `Bootstrap` and a `Storage` layer.
 */
export * as Bootstrap from "./Bootstrap.ts"
export * as DhtServer from "./DhtServer.ts"
export * as DurableStorage from "./DurableStorage.ts"
export * as Fingers from "./Fingers.ts"
export * as Handoff from "./Handoff.ts"
export * as InFlight from "./InFlight.ts"
export * as Join from "./Join.ts"
export * as KeyValue from "./KeyValue.ts"
export * as Leave from "./Leave.ts"
export * as Membership from "./Membership.ts"
export * as Node from "./Node.ts"
export * as NodeConfig from "./NodeConfig.ts"
export * as Peers from "./Peers.ts"
export * as Query from "./Query.ts"
export * as Remembered from "./Remembered.ts"
export * as Router from "./Router.ts"
export * as Stabilizer from "./Stabilizer.ts"
export * as Storage from "./Storage.ts"
export * as TakeOver from "./TakeOver.ts"
export * as VirtualNodes from "./VirtualNodes.ts"
