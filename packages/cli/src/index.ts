/**
 * The Crusty Ring command-line tools as `effect/cli` commands, for embedding or testing:
 * `dht` (a node), `dht-registry`, `dht-client` and `dht-certs`, and the certificates `dht-certs` makes.
 */
export * as Certs from "./Certs.ts"
export * as ClientCommand from "./ClientCommand.ts"
export * as Main from "./Main.ts"
export * as NodeCommand from "./NodeCommand.ts"
export * as RegistryCommand from "./RegistryCommand.ts"
