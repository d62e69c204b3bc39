/**
 * The baseline: a bare grpc-js server for `dht.DhtNode/QueryDht` over an in-memory Map, with
 * our wire semantics (Set returns the previous value, a missing key on Get or Delete is the
 * original's error string) and no routing, ring or Effect. It uses the same service definition
 * and channel options as a node, so codecs and message sizes are identical.
 */
import * as grpc from "@grpc/grpc-js"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"

const KEY_NOT_PRESENT = "Key not present in database."

/** A running bare server. */
export interface BareServer {
  readonly port: number
  readonly size: () => number
  readonly close: () => Promise<void>
}

/** Starts the bare server on 127.0.0.1 and a free port. */
export const start = (): Promise<BareServer> =>
  new Promise((resolve, reject) => {
    const map = new Map<string, Buffer>()
    const server = new grpc.Server(Grpc.channelOptions)
    const handlers: Wire.DhtNodeHandlers = {
      QueryDht: (call, callback) => {
        const q = call.request
        const key = q.key.toString("latin1")
        const prev = map.get(key)
        switch (q.ty) {
          case "Get":
            return callback(null, prev ? { value: prev, hops: 0 } : { error: KEY_NOT_PRESENT, hops: 0 })
          case "Delete":
            map.delete(key)
            return callback(null, prev ? { value: prev, hops: 0 } : { error: KEY_NOT_PRESENT, hops: 0 })
          case "Set":
            if (q.value === undefined) return callback({ code: grpc.status.INVALID_ARGUMENT, details: "Set needs a value" })
            map.set(key, q.value)
            return callback(null, prev ? { value: prev, hops: 0 } : { hops: 0 })
          default:
            return callback({ code: grpc.status.INVALID_ARGUMENT, details: `unknown operation ${String(q.ty)}` })
        }
      }
    }
    server.addService(Proto.proto.dht.DhtNode.service, handlers)
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err)
      resolve({
        port,
        size: () => map.size,
        close: () =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.forceShutdown(), 3000)
            server.tryShutdown(() => {
              clearTimeout(force)
              done()
            })
          })
      })
    })
  })
