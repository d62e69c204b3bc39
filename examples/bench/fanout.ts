/**
 * The grpc-js floor of section l's layout: N bare grpc-js servers (a Map each, no ring, no
 * Effect) and a raw client in this one process, 16 in flight over 500 keys, each request sent
 * straight to the server that "owns" its key, as the owner-direct client does. A Get is one
 * call. A Set is one call, and its server stores the value and sends copies to the next
 * `copies` servers, answering after the first copy is acknowledged: the calls a replicated
 * write makes with 3 copies and write quorum 2. The ratio of N servers to one is what gRPC
 * alone costs when one process spreads the same load over many servers and their copies.
 *
 *   npx node examples/bench/fanout.ts [N] [copies]
 */
import * as grpc from "@grpc/grpc-js"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { performance } from "node:perf_hooks"
import * as Load from "./load.ts"

export const IN_FLIGHT = 16
export const KEYS = 500
const COPY_HEADER = "bench-copy"

/** Ops per second of each phase. */
export interface Rates {
  readonly get: number
  readonly set: number
}

const listen = (handler: grpc.handleUnaryCall<Wire.Query__Output, Wire.QueryResult>) =>
  new Promise<{ server: grpc.Server; port: number }>((resolve, reject) => {
    const server = new grpc.Server(Grpc.channelOptions)
    server.addService(Proto.proto.dht.DhtNode.service, { QueryDht: handler } as grpc.UntypedServiceImplementation)
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve({ server, port })))
  })

/** Runs the Get and then the Set phase against `servers` bare servers, each for `ms` after a `warmupMs` warm-up. */
export const measure = async (servers: number, copies: number, options: { readonly warmupMs: number; readonly ms: number }): Promise<Rates> => {
  const copyClients: Array<Array<Wire.DhtNodeClient>> = []
  const started = await Promise.all(Array.from({ length: servers }, (_, i) => {
    const map = new Map<string, Buffer>()
    return listen((call, callback) => {
      const q = call.request
      const key = q.key.toString("latin1")
      if (q.ty === "Get") {
        const value = map.get(key)
        return callback(null, value ? { value } : { error: "Key not present in database." })
      }
      map.set(key, q.value!)
      const targets = copyClients[i]!
      if (call.metadata.get(COPY_HEADER).length > 0 || targets.length === 0) return callback(null, {})
      let answered = false
      for (const target of targets) {
        const metadata = new grpc.Metadata()
        metadata.set(COPY_HEADER, "1")
        target.QueryDht({ ty: "Set", key: q.key, value: q.value! }, metadata, { deadline: Date.now() + 10_000 }, (err) => {
          if (answered) return
          answered = true
          callback(err, err ? undefined : {})
        })
      }
    })
  }))
  const address = (i: number) => `127.0.0.1:${started[i % servers]!.port}`
  for (let i = 0; i < servers; i++) {
    copyClients[i] = Array.from({ length: Math.min(copies, servers - 1) }, (_, k) => Load.connect(address(i + k + 1)))
  }
  const clients = started.map((_, i) => Load.connect(address(i)))
  try {
    const keys = Load.makeKeys(KEYS, "m")
    const value = Buffer.alloc(100, 0x61)
    for (const [i, key] of keys.entries()) await Load.send(clients[i % servers]!, { ty: "Set", key, value })
    const phase = async (op: "Get" | "Set", ms: number) => {
      const end = performance.now() + ms
      let next = 0
      let ops = 0
      const worker = async () => {
        while (performance.now() < end) {
          const i = next++ % KEYS
          await Load.send(clients[i % servers]!, op === "Get" ? { ty: "Get", key: keys[i]! } : { ty: "Set", key: keys[i]!, value })
          ops++
        }
      }
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
      return ops / (ms / 1000)
    }
    await phase("Get", options.warmupMs)
    const get = await phase("Get", options.ms)
    await phase("Set", options.warmupMs)
    const set = await phase("Set", options.ms)
    return { get, set }
  } finally {
    for (const c of [...clients, ...copyClients.flat()]) (c as unknown as grpc.Client).close()
    await Promise.all(started.map(({ server }) => new Promise<void>((done) => server.tryShutdown(() => done()))))
  }
}

if (import.meta.main) {
  const n = Number(process.argv[2] ?? 16)
  const copies = Number(process.argv[3] ?? 2)
  const options = { warmupMs: 1000, ms: 5000 }
  const one = await measure(1, 0, options)
  const many = await measure(n, copies, options)
  console.log(`1 bare server: Get ${Math.round(one.get)}/s, Set ${Math.round(one.set)}/s`)
  console.log(`${n} bare servers, ${copies} copies a Set: Get ${Math.round(many.get)}/s, Set ${Math.round(many.set)}/s`)
  console.log(`ratio: Get ${(many.get / one.get).toFixed(2)}x, Set ${(many.set / one.set).toFixed(2)}x`)
}
