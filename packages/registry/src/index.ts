/**
 * The Crusty Ring registry: an optional directory that gives joining nodes their ID and a
 * contact, and lists the ring's members for clients.
 */
export * as Registry from "./Registry.ts"
export * as RegistryServer from "./RegistryServer.ts"
