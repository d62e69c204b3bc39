/**
 * Transport security: plaintext, or TLS with the cluster's certificates (the files `dht-certs`
 * writes). `Security` is a context reference read by every gRPC server and channel this package
 * makes, so a process chooses it once: a node and a registry from `--certs-dir`, a client from
 * its `tls` option. With TLS every server asks for a client certificate and checks it per call
 * (`guard`), so a caller without the right one gets a precise UNAUTHENTICATED or
 * PERMISSION_DENIED instead of a failed handshake. Node certificates are told from client ones by
 * their extended key usage: a node's has serverAuth, a client's only clientAuth.
 */
import * as grpc from "@grpc/grpc-js"
import { X509Certificate, createPrivateKey } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as tls from "node:tls"
import * as path from "node:path"
import { Context, Effect, Schema } from "effect"
import * as Errors from "./Errors.ts"

/** The PEM files of an identity: the cluster CA, and this process's certificate and key. */
export interface Pem {
  readonly ca: Buffer
  /** Absent for a client that presents no certificate (to a `--client-auth none` node). */
  readonly cert?: Buffer
  readonly key?: Buffer
}

/** Who may call the client contract (`dht.DhtNode`, and the registry's reads). */
export type ClientAuth = "certificate" | "none"

/** How a process talks: plaintext, or TLS. */
export type Security =
  | { readonly _tag: "Plaintext" }
  | {
    readonly _tag: "Tls"
    readonly pem: Pem
    readonly ca: X509Certificate
    readonly clientAuth: ClientAuth
    /** Where the files are, when they came from a directory: servers then reload them when they change. */
    readonly files?: { readonly ca: string; readonly cert: string; readonly key: string }
  }

export const plaintext: Security = { _tag: "Plaintext" }

/** The process's transport security; plaintext unless provided. */
export const Security = Context.Reference<Security>("@crustyring/protocol/Security", { defaultValue: () => plaintext })

/** A certificate or key that cannot be used: missing, malformed, expired, or not the CA's. */
export class TlsError extends Schema.TaggedError<TlsError>()("TlsError", {
  message: Schema.String
}) {}

/** Where `--certs-dir` keeps each file. */
export const files = (dir: string, identity: "node" | { readonly client: string }) => {
  const base = identity === "node" ? "node" : `client.${identity.client}`
  return { ca: path.join(dir, "ca.crt"), cert: path.join(dir, `${base}.crt`), key: path.join(dir, `${base}.key`) }
}

const read = (file: string, what: string) =>
  Effect.try({
    try: () => fs.readFileSync(file),
    catch: (e) => {
      const code = (e as NodeJS.ErrnoException).code
      return new TlsError({
        message: code === "ENOENT"
          ? `${what} ${file} not found (make it with dht-certs)`
          : `cannot read ${what} ${file}: ${(e as Error).message}`
      })
    }
  })

const certificate = (pem: Buffer, what: string) =>
  Effect.try({
    try: () => new X509Certificate(pem),
    catch: () => new TlsError({ message: `${what} is not a PEM certificate` })
  })

/**
 * Checks an identity and makes its `Security`: the CA and the certificate parse and are in
 * their validity period, the certificate is signed by the CA, and the key is the certificate's.
 */
export const make = (
  pem: Pem,
  options: { readonly clientAuth?: ClientAuth; readonly names?: { readonly ca: string; readonly cert: string; readonly key: string }; readonly now?: number } = {}
): Effect.Effect<Security, TlsError> =>
  Effect.gen(function*() {
    const names = options.names ?? { ca: "the CA certificate", cert: "the certificate", key: "the key" }
    const now = options.now ?? Date.now()
    const ca = yield* certificate(pem.ca, names.ca)
    if (!ca.ca) return yield* new TlsError({ message: `${names.ca} is not a CA certificate` })
    const expired = (c: X509Certificate, what: string) =>
      Date.parse(c.validTo) < now
        ? new TlsError({ message: `${what} expired on ${new Date(c.validTo).toISOString()}` })
        : Date.parse(c.validFrom) > now
        ? new TlsError({ message: `${what} is not valid before ${new Date(c.validFrom).toISOString()}` })
        : undefined
    const caProblem = expired(ca, names.ca)
    if (caProblem) return yield* caProblem
    if ((pem.cert === undefined) !== (pem.key === undefined)) {
      return yield* new TlsError({ message: `a certificate needs its key, and a key its certificate` })
    }
    if (pem.cert !== undefined && pem.key !== undefined) {
      const cert = yield* certificate(pem.cert, names.cert)
      const problem = expired(cert, names.cert)
      if (problem) return yield* problem
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
        return yield* new TlsError({ message: `${names.cert} is not signed by ${names.ca}` })
      }
      const keyPem = pem.key
      const key = yield* Effect.try({
        try: () => createPrivateKey(keyPem),
        catch: () => new TlsError({ message: `${names.key} is not a PEM private key` })
      })
      if (!cert.checkPrivateKey(key)) return yield* new TlsError({ message: `${names.key} does not belong to ${names.cert}` })
    }
    return { _tag: "Tls", pem, ca, clientAuth: options.clientAuth ?? "certificate" } satisfies Security
  })

/** The security of a `--certs-dir` directory, for a node (or registry) or for the client `NAME`. */
export const fromDir = (
  dir: string,
  identity: "node" | { readonly client: string },
  clientAuth: ClientAuth = "certificate"
): Effect.Effect<Security, TlsError> =>
  Effect.gen(function*() {
    const f = files(dir, identity)
    const pem = { ca: yield* read(f.ca, "CA certificate"), cert: yield* read(f.cert, "certificate"), key: yield* read(f.key, "key") }
    const security = yield* make(pem, { clientAuth, names: { ca: f.ca, cert: f.cert, key: f.key } })
    return { ...security, files: f } as Security
  })

/** The security of a client that presents no certificate: TLS checked against the CA in `dir`. */
export const fromCaDir = (dir: string): Effect.Effect<Security, TlsError> =>
  Effect.gen(function*() {
    const ca = path.join(dir, "ca.crt")
    return yield* make({ ca: yield* read(ca, "CA certificate") }, { names: { ca, cert: "", key: "" } })
  })

/**
 * A certificate provider over fixed PEM contents. It gives them on the next microtask, as a
 * file watcher gives its files later: grpc-js's server credentials ask for them before they
 * register the server that waits for them, so contents given at once reached no server, and
 * the server dropped every connection for want of a certificate.
 */
const fixed = (pem: Pem): grpc.experimental.CertificateProvider => ({
  addCaCertificateListener: (l) => queueMicrotask(() => l({ caCertificate: pem.ca })),
  removeCaCertificateListener: () => {},
  addIdentityCertificateListener: (l) =>
    queueMicrotask(() => l(pem.cert && pem.key ? { certificate: pem.cert, privateKey: pem.key } : null)),
  removeIdentityCertificateListener: () => {}
})

/** How often servers and channels reread certificate files, so replaced ones take effect (rotation). */
export const RELOAD_MS = 60_000

const provider = (security: Extract<Security, { _tag: "Tls" }>) =>
  security.files
    ? new grpc.experimental.FileWatcherCertificateProvider({
      caCertificateFile: security.files.ca,
      certificateFile: security.files.cert,
      privateKeyFile: security.files.key,
      refreshIntervalMs: RELOAD_MS
    })
    : fixed(security.pem)

const channels = new WeakMap<object, grpc.ChannelCredentials>()

/** The credentials of a channel: TLS that checks the server against the CA, or plaintext. */
export const channelCredentials = (security: Security): grpc.ChannelCredentials => {
  if (security._tag === "Plaintext") return grpc.credentials.createInsecure()
  let c = channels.get(security)
  if (!c) {
    // A client keeps no file watcher (it would hold the process open); its files are read once.
    c = grpc.credentials.createSsl(security.pem.ca, security.pem.key ?? null, security.pem.cert ?? null)
    channels.set(security, c)
  }
  return c
}

/**
 * The credentials of a server: TLS that asks every caller for a certificate but lets the call
 * through to `guard`, which names what is wrong with it.
 */
export const serverCredentials = (security: Security): grpc.ServerCredentials => {
  if (security._tag === "Plaintext") return grpc.ServerCredentials.createInsecure()
  const p = provider(security)
  // One provider gives both the CA and the identity, so the argument order does not matter.
  return grpc.experimental.createCertificateProviderServerCredentials(p, p, false)
}

/** Who a caller is, from its verified certificate. */
export type Caller = { readonly _tag: "Node" } | { readonly _tag: "Client"; readonly name: string } | { readonly _tag: "Anonymous" }

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"

/**
 * What a connection's verified certificate says about its caller: read once per connection,
 * since its certificate cannot change (HTTP/2 forbids TLS renegotiation, and Node refuses it).
 * `undefined` when it presented none, or one from another CA.
 */
interface Presented {
  readonly validFrom: number
  readonly validTo: number
  readonly validText: string
  readonly usages: ReadonlyArray<string>
  readonly name: string
}

type AuthContext = { readonly transportSecurityType?: string; readonly sslPeerCertificate?: import("node:tls").PeerCertificate } | null

const presentedBy = (context: AuthContext | undefined): Presented | undefined => {
  // grpc-js gives an auth context only for a certificate the handshake verified against the CA:
  // none at all means no certificate, or one from another CA.
  if (!context || context.transportSecurityType !== "ssl") return undefined
  const peer = context.sslPeerCertificate
  if (!peer || !peer.raw || peer.raw.length === 0) return undefined
  return {
    validFrom: Date.parse(peer.valid_from),
    validTo: Date.parse(peer.valid_to),
    validText: `valid ${peer.valid_from} to ${peer.valid_to}`,
    usages: peer.ext_key_usage ?? [],
    name: String(peer.subject?.CN ?? "?")
  }
}

// Per connection (its TLS socket): reading the certificate costs about 30 us, on every call.
const presentedOn = new WeakMap<object, Presented | undefined>()

/**
 * The caller of `call`, from the certificate its TLS handshake verified, or why it is not let in.
 * With `connection`, the object that stands for the call's connection, the certificate is read
 * on the connection's first call only; its dates are checked on every call.
 */
export const callerOf = (
  call: { getAuthContext?: () => AuthContext },
  connection?: object
): Caller | Errors.Unauthenticated => {
  let presented: Presented | undefined
  if (connection !== undefined && presentedOn.has(connection)) presented = presentedOn.get(connection)
  else {
    presented = presentedBy(call.getAuthContext?.())
    if (connection !== undefined) presentedOn.set(connection, presented)
  }
  if (presented === undefined) return { _tag: "Anonymous" }
  // The handshake checked the chain and the dates when the connection was made; a connection
  // may outlive its certificate, so the dates are checked again.
  const now = Date.now()
  if (presented.validTo < now || presented.validFrom > now) {
    return new Errors.Unauthenticated({ message: `the client certificate is not valid now (${presented.validText})` })
  }
  const usages = presented.usages
  if (usages.includes(SERVER_AUTH) && usages.includes(CLIENT_AUTH)) return { _tag: "Node" }
  if (usages.includes(CLIENT_AUTH)) return { _tag: "Client", name: presented.name }
  return new Errors.Unauthenticated({ message: "the certificate is not for TLS clients (no clientAuth usage)" })
}

/** Who may make the calls of a service: nodes, clients (and nodes), or any TLS caller. */
export type Audience = "nodes" | "clients" | "anyone"

/** Whether `caller` may call a service meant for `audience`, and if not, why. */
export const admit = (
  security: Extract<Security, { _tag: "Tls" }>,
  audience: Audience,
  caller: Caller | Errors.Unauthenticated
): Errors.Unauthenticated | Errors.PermissionDenied | undefined => {
  if (audience === "anyone") return undefined
  if (caller instanceof Errors.Unauthenticated) return caller
  if (audience === "nodes") {
    if (caller._tag === "Node") return undefined
    if (caller._tag === "Anonymous") {
      return new Errors.Unauthenticated({ message: "node-to-node calls need a node certificate signed by this cluster's CA; none was presented, or one from another CA" })
    }
    return new Errors.PermissionDenied({ message: `node-to-node calls need a node certificate; client ${caller.name} presented a client certificate` })
  }
  if (caller._tag === "Anonymous" && security.clientAuth !== "none") {
    return new Errors.Unauthenticated({
      message: "this cluster needs a client certificate signed by its CA (dht-client --certs-dir DIR --user NAME); none was presented, or one from another CA"
    })
  }
  return undefined
}

/** What a TLS handshake with an address showed, to say why calls to it fail. */
export type Probe =
  | { readonly _tag: "Tls"; readonly trusted: true }
  | { readonly _tag: "Tls"; readonly trusted: false; readonly reason: string }
  | { readonly _tag: "Plaintext" }
  | { readonly _tag: "Unreachable" }

/**
 * Tries one TLS handshake with `target` ("host:port") under `security`, to tell a credentials
 * mismatch from an address that is down: gRPC reports both as UNAVAILABLE. A handshake that
 * completes shows a TLS server, and whether its certificate is from our CA and names `target`;
 * one the server breaks off with a TLS protocol error shows a plaintext server.
 */
export const probe = (target: string, security: Security, timeoutMs = 3000): Effect.Effect<Probe> =>
  Effect.callback<Probe>((resume) => {
    const { host, port } = splitTarget(target)
    const tlsPem = security._tag === "Tls" ? security.pem : undefined
    const socket = tls.connect({
      host,
      port,
      ...(net.isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ["h2"],
      rejectUnauthorized: false,
      ...(tlsPem ? { ca: tlsPem.ca, ...(tlsPem.cert && tlsPem.key ? { cert: tlsPem.cert, key: tlsPem.key } : {}) } : {})
    })
    let done = false
    const finish = (p: Probe) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resume(Effect.succeed(p))
    }
    const timer = setTimeout(() => finish({ _tag: "Unreachable" }), timeoutMs)
    socket.once("secureConnect", () => {
      if (!tlsPem) return finish({ _tag: "Tls", trusted: false, reason: "it serves TLS" })
      if (!socket.authorized) {
        const code = String(socket.authorizationError ?? "")
        const names = socket.getPeerCertificate().subjectaltname ?? "nothing"
        return finish({
          _tag: "Tls",
          trusted: false,
          reason: UNTRUSTED.has(code)
            ? "its certificate is not signed by this process's CA (ca.crt): it belongs to another cluster"
            : code === "ERR_TLS_CERT_ALTNAME_INVALID"
            ? `its certificate does not name ${host} (it names ${names}); make it with dht-certs create-node DIR ${host} ...`
            : code === "CERT_HAS_EXPIRED"
            ? "its certificate has expired"
            : `its certificate is not valid (${code})`
        })
      }
      const cert = socket.getPeerCertificate()
      const mismatch = tls.checkServerIdentity(host, cert)
      if (mismatch) {
        return finish({
          _tag: "Tls",
          trusted: false,
          reason: `its certificate does not name ${host} (it names ${cert.subjectaltname ?? "nothing"}); make it with dht-certs create-node DIR ${host} ...`
        })
      }
      finish({ _tag: "Tls", trusted: true })
    })
    socket.once("error", (e: NodeJS.ErrnoException) => {
      const code = e.code ?? ""
      finish(code.startsWith("ERR_SSL_") || code === "EPROTO" ? { _tag: "Plaintext" } : { _tag: "Unreachable" })
    })
    return Effect.sync(() => finish({ _tag: "Unreachable" }))
  })

/** OpenSSL's verification codes for a chain that does not lead to our CA. */
const UNTRUSTED = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_SIGNATURE_FAILURE"
])

const splitTarget = (target: string): { readonly host: string; readonly port: number } => {
  const colon = target.lastIndexOf(":")
  const host = target.slice(0, colon).replace(/^\[(.*)\]$/, "$1")
  return { host, port: Number(target.slice(colon + 1)) }
}

/**
 * Why calls from a process with `security` to `target` fail, when the cause is a credentials
 * mismatch: one line naming it, or undefined when the target is simply down or TLS agrees.
 */
export const mismatch = (target: string, security: Security): Effect.Effect<string | undefined> =>
  Effect.map(probe(target, security), (p) => {
    if (security._tag === "Plaintext") {
      return p._tag === "Tls" ? `${target} serves TLS and this process runs plaintext: give it the cluster's certificates (--certs-dir)` : undefined
    }
    if (p._tag === "Plaintext") return `${target} serves plaintext and this process runs TLS (--certs-dir): the two cannot talk`
    if (p._tag === "Tls" && !p.trusted) return `${target} is refused: ${p.reason}`
    return undefined
  })
