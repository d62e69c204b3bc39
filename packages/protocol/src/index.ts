/**
 * The wire layer of Crusty Ring: the loaded protos, their generated types, the errors that
 * cross the wire, and a thin Effect adapter over grpc-js. The only package that imports grpc-js.
 */
export * as Address from "./Address.ts"
export * as Admin from "./Admin.ts"
export * as Errors from "./Errors.ts"
export * as Grpc from "./Grpc.ts"
export * as Health from "./Health.ts"
export * as MemoryNetwork from "./MemoryNetwork.ts"
export * as Proto from "./Proto.ts"
export { TimeHeap } from "./TimeHeap.ts"
export * as Tls from "./Tls.ts"
export type * as Wire from "./Wire.ts"
export * as RegistryClient from "./RegistryClient.ts"
