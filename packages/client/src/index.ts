/**
 * The Crusty Ring client library: `DhtClient` for Effect programs, `PromiseClient` for the rest.
 */
export * as ClientError from "./ClientError.ts"
export * as DhtClient from "./DhtClient.ts"
export * as Display from "./Display.ts"
export * as PromiseClient from "./PromiseClient.ts"
export * as RingStatus from "./RingStatus.ts"
