/**
 * Loads the protos in this package's `proto/` (the repository's `proto/` links to it) with the one set of loader options that the generated types in
 * `src/generated/` were made with (`npm run gen`). uint64 travels as a decimal string.
 */
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import { fileURLToPath } from "node:url"
import type { ProtoGrpcType as ClusterGrpc } from "./generated/cluster.ts"
import type { ProtoGrpcType as DhtGrpc } from "./generated/dht.ts"
import type { ProtoGrpcType as PeerGrpc } from "./generated/peer.ts"
import type { ProtoGrpcType as RegistryGrpc } from "./generated/registry.ts"

/** Directory holding `dht.proto`, `registry.proto`, `peer.proto` and `cluster.proto`. */
export const protoDir = fileURLToPath(new URL("../proto/", import.meta.url))

/** Loader options; they must match the flags of the `gen` script. */
export const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir]
}

/** The package definition of every proto, for reflection. */
export const definition = protoLoader.loadSync(["dht.proto", "registry.proto", "peer.proto", "cluster.proto"], loaderOptions)

/** Service constructors and definitions for every package. */
export const proto = grpc.loadPackageDefinition(definition) as unknown as DhtGrpc & RegistryGrpc & PeerGrpc & ClusterGrpc
