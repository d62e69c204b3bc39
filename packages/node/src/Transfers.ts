/**
 * The hand-off a (virtual) node is receiving, if any: keys received so far of the count its
 * giver held when the hand-off began. The status reports it as progress, like a repair's, so
 * `dht-client ring` and the dashboard show a bar with keys per second.
 */
import { Context, Layer } from "effect"

/** A hand-off under way. */
export interface Transfer {
  done: number
  readonly total: number
  /** When it began, ms since the epoch. */
  readonly started: number
}

/** The hand-off under way, set by `Handoff.receive` and read by the status. */
export class Transfers extends Context.Service<Transfers, { current: Transfer | undefined }>()("@crustyring/node/Transfers") {}

/** A node's own holder, empty at first. */
export const layer: Layer.Layer<Transfers> = Layer.sync(Transfers, () => ({ current: undefined }))
