/**
 * The HTTP admin server of a node or a registry (`--http-port`), on `effect/http` and
 * `@effect/platform-node`:
 *
 * - `/healthz`: 200 while the process runs;
 * - `/readyz`: 200 while it serves, 503 otherwise (the meaning of its gRPC health status);
 * - `/metrics`: the Prometheus text format;
 * - `/status`: its status as JSON.
 *
 * A node adds its dashboard's routes (`Source.routes`). Under TLS it serves HTTPS with the
 * process's own certificate, and asks for no client certificate: probes (Kubernetes, load
 * balancers), scrapers and browsers reach it as they reach a web server. What it exposes
 * beyond counts and addresses is the dashboard's business (it refuses keys and values when
 * the cluster requires client certificates).
 */
// The module itself, not the package index, which loads every Node service: the binaries
// that import this package start about 0.2 s sooner.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, type Scope } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import * as http from "node:http"
import * as https from "node:https"
import * as Errors from "./Errors.ts"
import * as Tls from "./Tls.ts"

/** What the admin server reports. */
export interface Source {
  /** Whether the process serves; `reason` says why not. */
  readonly ready: Effect.Effect<{ readonly ready: boolean; readonly reason?: string }>
  /** The Prometheus text of its metrics. */
  readonly metrics: Effect.Effect<string>
  /** Its status, as a JSON-able value. */
  readonly status: Effect.Effect<unknown>
  /** More routes to serve (a node's dashboard). */
  readonly routes?: Layer.Layer<never, never, HttpRouter.HttpRouter>
}

/** A bound admin server. */
export interface Admin {
  readonly port: number
  /** "http" or "https". */
  readonly scheme: string
}

const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"

/** The routes of the admin server over `source`. */
const routes = (source: Source) =>
  Layer.mergeAll(
    HttpRouter.add("GET", "/healthz", HttpServerResponse.text("ok\n")),
    HttpRouter.add(
      "GET",
      "/readyz",
      Effect.map(source.ready, (r) =>
        r.ready ? HttpServerResponse.text("ready\n") : HttpServerResponse.text(`not ready: ${r.reason ?? "not serving"}\n`, { status: 503 }))
    ),
    HttpRouter.add("GET", "/metrics", Effect.map(source.metrics, (text) => HttpServerResponse.text(text, { contentType: PROMETHEUS_TEXT }))),
    HttpRouter.add(
      "GET",
      "/status",
      Effect.flatMap(source.status, (status) =>
        Effect.orDie(HttpServerResponse.json(status, { headers: { "cache-control": "no-store" } })))
    )
  )

/**
 * Serves the admin routes on `host:port` (0 picks a free port) until the scope closes; HTTPS
 * with the certificate of the `Security` in context, when it is TLS.
 */
export const serve = (options: { readonly host: string; readonly port: number; readonly source: Source }): Effect.Effect<Admin, Errors.Unavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const security = yield* Tls.Security
    const tlsPem = security._tag === "Tls" && security.pem.cert && security.pem.key ? security.pem : undefined
    const server = yield* NodeHttpServer.make(
      () => (tlsPem ? https.createServer({ cert: tlsPem.cert, key: tlsPem.key }) : http.createServer()),
      { host: options.host, port: options.port, gracefulShutdownTimeout: "1 second" }
    ).pipe(Effect.mapError((e) => new Errors.Unavailable({ message: `cannot listen on ${options.host}:${options.port} (--http-port): ${e.message}` })))
    const app = yield* HttpRouter.toHttpEffect(Layer.mergeAll(routes(options.source), options.source.routes ?? Layer.empty))
    yield* server.serve(app)
    const port = "port" in server.address ? server.address.port : options.port
    return { port, scheme: tlsPem ? "https" : "http" }
  })
