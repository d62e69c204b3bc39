/**
 * The Crusty Ring registry: an optional directory that gives joining nodes their ID and a
 * contact, and lists the ring's members for clients. It drops nodes that stop answering pings.
 */
export * as HealthCheck from "./HealthCheck.ts"
export * as Pinger from "./Pinger.ts"
export * as Registry from "./Registry.ts"
export * as RegistryServer from "./RegistryServer.ts"
