/**
 * The Crusty Ring command-line tools as `effect/cli` commands, for embedding or testing:
 * `dht` (a node), `dht-registry` and `dht-client`.
 */
export * as ClientCommand from "./ClientCommand.ts"
export * as Main from "./Main.ts"
export * as NodeCommand from "./NodeCommand.ts"
export * as RegistryCommand from "./RegistryCommand.ts"
