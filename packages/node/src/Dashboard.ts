/**
 * The ring dashboard, served by the admin server of every node (`--http-port`):
 *
 * - `/`: the page, with its script, style and the vendored d3-shape (no network at run time);
 * - `/api/events`: server-sent events: `hello` once (this node, whether the page may read and
 *   write keys, the latest ring events), then `ring` (a `RingView` snapshot) every second and
 *   `event` as each ring event happens;
 * - `/api/ring`: one snapshot as JSON;
 * - `/api/key?key=K&encoding=utf8|hex|base64`: the key's position, owner and replica set;
 * - `POST /api/kv` `{ op: "get" | "set" | "delete", key, value?, encoding? }`: the operation
 *   through this node's client, answered with the CLI's words.
 *
 * The API answers any origin, so a page that lost its node reconnects to another one. Under
 * TLS with client certificates required, the admin server does not authenticate callers, so
 * it refuses `/api/kv` and the page says why.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { type ClientError, DhtClient, Display } from "@crustyring/client"
import { Tls } from "@crustyring/protocol"
import { Cause, Effect, Layer, Option, Schedule, Schema, type Scope, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type * as Events from "./Events.ts"
import * as RingView from "./RingView.ts"

/** What the dashboard reads: the ring walk, the process's events, its address and copy count. */
export interface Source {
  readonly address: string
  readonly copies: number
  readonly walk: Effect.Effect<RingView.Snapshot>
  readonly events: Events.Service
}

const here = (file: string) => new URL(`../dashboard/${file}`, import.meta.url)
const require = createRequire(import.meta.url)
/** A vendored module's minified ES build, beside the entry its package resolves to. */
const vendored = (name: string) => readFileSync(require.resolve(name).replace(/\.m?js$/, ".min.mjs"), "utf8")

const CORS = { "access-control-allow-origin": "*", "cache-control": "no-store" }

const Encoding = Schema.Literals(["utf8", "hex", "base64"])
type Encoding = typeof Encoding.Type

/** The bytes of `text` in `encoding`; undefined when it is not valid in it. */
const decode = (text: string, encoding: Encoding): Uint8Array | undefined => {
  if (encoding === "utf8") return new TextEncoder().encode(text)
  if (encoding === "hex") return /^([0-9a-fA-F]{2})*$/.test(text) ? Buffer.from(text, "hex") : undefined
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0 ? Buffer.from(text, "base64") : undefined
}

const KeyQuery = Schema.Struct({ key: Schema.String, encoding: Schema.optional(Encoding) })
const KvRequest = Schema.Struct({
  op: Schema.Literals(["get", "set", "delete"]),
  key: Schema.String,
  value: Schema.optional(Schema.String),
  encoding: Schema.optional(Encoding)
})

const problem = (status: number, error: string) => HttpServerResponse.jsonUnsafe({ error }, { status, headers: CORS })
const ok = (body: unknown) => HttpServerResponse.jsonUnsafe(body, { headers: CORS })

/** A value as the page shows it: the CLI's escaped text, and base64 for the raw bytes. */
const shown = (bytes: Uint8Array) => ({ text: Display.bytes(bytes), base64: Buffer.from(bytes).toString("base64"), size: bytes.length })

/** The dashboard's routes over `source`, with a client of this node for the key box. */
export const routes = (source: Source): Effect.Effect<Layer.Layer<never, never, HttpRouter.HttpRouter>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const security = yield* Tls.Security
    const kvRefused = security._tag === "Tls" && security.clientAuth !== "none"
      ? "Get, Set and Delete are off on this page: the cluster requires client certificates, and the admin port does not check them. Use dht-client."
      : undefined
    const client = yield* DhtClient.make({ nodes: [source.address] }, { deadline: "5 seconds", timeout: "2 seconds" }).pipe(Effect.orDie)
    // One walk a second, however many pages watch.
    const walk = yield* Effect.cachedWithTTL(source.walk, "900 millis")

    const assets = {
      page: readFileSync(here("index.html"), "utf8"),
      script: readFileSync(here("app.js"), "utf8"),
      style: readFileSync(here("style.css"), "utf8"),
      shape: vendored("d3-shape"),
      path: vendored("d3-path")
    }
    const js = (body: string) => HttpServerResponse.text(body, { contentType: "text/javascript; charset=utf-8" })

    const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    const events = Stream.unwrap(Effect.gen(function*() {
      const subscription = yield* source.events.subscribe
      const hello = Stream.make(sse("hello", { node: source.address, copies: source.copies, kv: kvRefused ?? null, events: source.events.recent() }))
      const rings = Stream.fromEffectSchedule(walk, Schedule.spaced("1 second")).pipe(Stream.map((s) => sse("ring", s)))
      const news = Stream.fromSubscription(subscription).pipe(Stream.map((e) => sse("event", e)))
      return Stream.concat(hello, Stream.merge(rings, news))
    })).pipe(Stream.encodeText)

    const located = (key: Uint8Array) => Effect.map(walk, (snapshot) => RingView.locate(snapshot, key, source.copies))

    const kv = (request: typeof KvRequest.Type) =>
      Effect.gen(function*() {
        const encoding = request.encoding ?? "utf8"
        const key = decode(request.key, encoding)
        if (key === undefined) return problem(400, `the key is not valid ${encoding}`)
        const value = request.value === undefined ? undefined : decode(request.value, encoding)
        if (request.op === "set" && value === undefined) return problem(400, request.value === undefined ? "set needs a value" : `the value is not valid ${encoding}`)
        const location = yield* located(key)
        const result: Effect.Effect<object, ClientError.ClientError> = request.op === "get"
          ? Effect.map(client.get(key), (v) => ({ found: true, value: shown(v) }))
          : request.op === "set"
          ? Effect.map(client.set(key, value!), (p) => ({ found: Option.isSome(p), previous: Option.isSome(p) ? shown(p.value) : null }))
          : Effect.map(client.delete(key), (v) => ({ found: true, value: shown(v) }))
        return yield* result.pipe(
          Effect.map((r) => ok({ op: request.op, ...r, location })),
          // The words of `dht-client`: a missing key is an answer, not a failure.
          Effect.catchTag("KeyNotFound", () => Effect.succeed(ok({ op: request.op, found: false, location, message: "Key not present in database." }))),
          Effect.catch((e) => Effect.succeed(problem(e._tag === "InvalidRequest" ? 400 : 503, `error: ${e.message}`)))
        )
      })

    const layer = Layer.mergeAll(
      HttpRouter.add("GET", "/", HttpServerResponse.html(assets.page)),
      HttpRouter.add("GET", "/dashboard/app.js", js(assets.script)),
      HttpRouter.add("GET", "/dashboard/style.css", HttpServerResponse.text(assets.style, { contentType: "text/css; charset=utf-8" })),
      HttpRouter.add("GET", "/dashboard/vendor/d3-shape.js", js(assets.shape)),
      HttpRouter.add("GET", "/dashboard/vendor/d3-path.js", js(assets.path)),
      HttpRouter.add("GET", "/api/ring", Effect.map(walk, ok)),
      HttpRouter.add(
        "GET",
        "/api/events",
        HttpServerResponse.stream(events, { contentType: "text/event-stream", headers: { ...CORS, connection: "keep-alive" } })
      ),
      HttpRouter.add(
        "GET",
        "/api/key",
        HttpServerRequest.schemaSearchParams(KeyQuery).pipe(
          Effect.flatMap((q) => {
            const key = decode(q.key, q.encoding ?? "utf8")
            if (key === undefined) return Effect.succeed(problem(400, `the key is not valid ${q.encoding}`))
            return Effect.map(located(key), (location) => (location === undefined ? problem(503, "the ring is empty") : ok({ ...location, copies: source.copies })))
          }),
          Effect.catchCause((cause) => Effect.succeed(problem(400, `bad request: ${Cause.pretty(cause).split("\n")[0]}`)))
        )
      ),
      HttpRouter.add(
        "POST",
        "/api/kv",
        kvRefused !== undefined
          ? problem(403, kvRefused)
          : HttpServerRequest.schemaBodyJson(KvRequest).pipe(
            Effect.flatMap(kv),
            Effect.catchCause((cause) => Effect.succeed(problem(400, `bad request: ${Cause.pretty(cause).split("\n")[0]}`)))
          )
      ),
      HttpRouter.add("OPTIONS", "/api/kv", HttpServerResponse.empty({ status: 204, headers: { ...CORS, "access-control-allow-methods": "POST", "access-control-allow-headers": "content-type" } }))
    )
    // The request decoders read only what the router provides each handler (the request and
    // its search parameters); their inferred requirement is wider than that.
    return layer as Layer.Layer<never, never, HttpRouter.HttpRouter>
  })
