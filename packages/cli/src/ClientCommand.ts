/**
 * `dht-client`: runs one command (`get k`, `set k v`, `delete k`, `ring`, `remove host:port`,
 * `health`, `bench`) or, with none, an interactive prompt like the original client's.
 *
 * - Keys and values are UTF-8 words, or binary with `--hex` or `--base64` (in and out); a
 *   value may come from `--file PATH` (`-` for stdin), and `get --out PATH` writes the raw
 *   bytes. Values that are not UTF-8 are shown escaped.
 * - `--json` prints one JSON object per result: values in base64 and a `found` flag.
 * - Before a command it checks that the addresses it was given can answer (`Preflight`): a
 *   refused connection everywhere, or the wrong kind of server, fails at once.
 *
 * Exit codes: 0 done; 1 missing key, rejected request, refused or unknown removal, a failed
 * prompt line, or bad usage; 2 cluster unreachable or out of time.
 */
import { ClientError, DhtClient, Display } from "@crustyring/client"
import { Address, Health, Tls } from "@crustyring/protocol"
import { Config, Console, Duration, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as fs from "node:fs"
import * as Bench from "./Bench.ts"
import * as Durations from "./Durations.ts"
import * as Encoding from "./Encoding.ts"
import { UserError } from "./Main.ts"
import * as Preflight from "./Preflight.ts"
import * as Prompt from "./Prompt.ts"
import * as RingTable from "./RingTable.ts"
import * as Security from "./Security.ts"
import { type Parsed, parse, USAGE } from "./Words.ts"

export { formatProcesses, formatRing, formatSilence, formatTable } from "./RingTable.ts"
export { parse } from "./Words.ts"

const flags = {
  registry: Flag.String("registry").pipe(
    Flag.withDescription("Registry host:port to find nodes through (default 127.0.0.1:50000; env DHT_REGISTRY)"),
    Flag.optional
  ),
  node: Flag.String("node").pipe(
    Flag.withDescription("A node host:port to send requests to; repeat for several. Replaces --registry and $DHT_REGISTRY"),
    Flag.atLeast(0)
  ),
  timeout: Flag.String("timeout").pipe(
    Flag.withDescription(
      "Deadline of each request, retries on other nodes included: 2s, 500ms, 1m (a bare number is milliseconds; default 10s). One attempt waits at most 5s"
    ),
    Flag.optional
  ),
  certsDir: Security.certsDir,
  user: Flag.String("user").pipe(
    Flag.withDescription("With --certs-dir: present DIR/client.NAME.crt and its key (env DHT_USER; none: TLS with no certificate, for --client-auth none)"),
    Flag.withFallbackConfig(Config.String("DHT_USER")),
    Flag.optional
  ),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("Print each result as one JSON object (values in base64, with a found flag); in the prompt too"),
    Flag.withDefault(false)
  ),
  hex: Flag.Boolean("hex").pipe(Flag.withDescription("Keys and values are hex, in and out (binary data)"), Flag.withDefault(false)),
  base64: Flag.Boolean("base64").pipe(Flag.withDescription("Keys and values are base64, in and out (binary data)"), Flag.withDefault(false)),
  file: Flag.String("file").pipe(Flag.withDescription("With set: the value is this file's bytes; - reads stdin"), Flag.optional),
  out: Flag.String("out").pipe(Flag.withDescription("With get: write the value's raw bytes to this file; - for stdout"), Flag.optional),
  watch: Flag.Boolean("watch").pipe(Flag.withDescription("With ring: redraw it every second, until Ctrl-C"), Flag.withDefault(false)),
  positions: Flag.Boolean("positions").pipe(
    Flag.withDescription("With ring: one row per ring position (virtual node), not one per node"),
    Flag.withDefault(false)
  ),
  ops: Flag.Int("ops").pipe(Flag.withDescription("With bench: requests to make (default 10000)"), Flag.optional),
  concurrency: Flag.Int("concurrency").pipe(Flag.withDescription("With bench: requests in flight (default 16)"), Flag.optional),
  valueSize: Flag.Int("value-size").pipe(Flag.withDescription("With bench: bytes per value (default 100)"), Flag.optional),
  ratio: Flag.String("ratio").pipe(Flag.withDescription("With bench: Gets to Sets, get:set (default 1:1)"), Flag.optional),
  keys: Flag.Int("keys").pipe(Flag.withDescription("With bench: distinct keys (default 1000)"), Flag.optional),
  words: Argument.String("command").pipe(
    Argument.withDescription(
      "get KEY | set KEY VALUE... | delete KEY | ring | remove HOST:PORT (forget a member that no longer answers) | health (the gRPC health of the first --node, or the registry: exit 0 SERVING, 1 NOT_SERVING, 2 unreachable) | bench; none opens a prompt"
    ),
    Argument.variadic()
  )
}

/** A usage error: one line naming the problem, and where the help is (exit 1). */
const usage = (message: string) => new UserError({ message: `${message}; see dht-client --help` })

const exitCodeOf = (e: { readonly _tag: string }) => (e._tag === "Unavailable" || e._tag === "Timeout" ? 2 : 1)

/** A node's words on one line, whatever it sent. */
const oneLine = (message: string) => message.replace(/\s*\n\s*/g, " ")

/**
 * The address `remove` takes: a process's "host:port", checked before anything is sent. A
 * virtual node's address is refused: a process's virtual nodes are removed together.
 */
export const removeTarget = (input: string): Effect.Effect<Address.Address, UserError> =>
  Effect.gen(function*() {
    const address = yield* Effect.mapError(Address.parse(input), (e) => new UserError({ message: `remove: ${e.message}` }))
    if (Address.vnode(address) !== 0) {
      return yield* new UserError({
        message: `remove: ${address} is a virtual node; give its process's address, ${Address.target(address)}, to remove all its virtual nodes`
      })
    }
    return address
  })

/**
 * What `remove` did, for people: one line for stdout, counted in processes (the virtual nodes
 * of a process count once), and a warning for each node that could not be asked.
 */
export const formatRemoved = (r: DhtClient.Removed): { readonly line: string; readonly warnings: ReadonlyArray<string> } => {
  const forgot = new Set(r.forgotten.map((f) => Address.target(f.node)))
  const silent = new Set(r.unanswered.map((u) => Address.target(u.node)).filter((p) => !forgot.has(p)))
  const unaware = new Set(r.unaware.map(Address.target).filter((p) => !forgot.has(p) && !silent.has(p)))
  const line = `removed ${r.address}: ${RingTable.nodesWord(forgot.size)} forgot it` +
    (unaware.size > 0 ? `, ${unaware.size} did not know it` : "") +
    (silent.size > 0 ? `, ${silent.size} did not answer` : "")
  // One warning per process that did not answer, however many of its virtual nodes were asked.
  const warnings = [...silent].map((p) => {
    const u = r.unanswered.find((u) => Address.target(u.node) === p)!
    return `warning: ${oneLine(u.message)}; that node learns of the removal from its neighbours`
  })
  return { line, warnings }
}

const removeMember = (client: DhtClient.Service, input: string, json: boolean) =>
  Effect.gen(function*() {
    const removed = yield* client.remove(yield* removeTarget(input))
    if (json) return yield* Console.log(JSON.stringify(removed, null, 2))
    const { line, warnings } = formatRemoved(removed)
    yield* Effect.forEach(warnings, (w) => Console.error(w), { discard: true })
    yield* Console.log(line)
  })


/** How one-shot and prompt commands read and print keys and values. */
interface Io {
  readonly encoding: Encoding.Encoding
  readonly json: boolean
  /** `get --out PATH`. */
  readonly out: Option.Option<string>
  /** `set --file PATH`'s bytes. */
  readonly value: Option.Option<Uint8Array>
}

/** A key or value word in the chosen encoding, or a usage error naming it. */
const bytesOf = (what: string, text: string, encoding: Encoding.Encoding, oneShot = false): Effect.Effect<Uint8Array, UserError> => {
  const decoded = Encoding.decode(text, encoding)
  if ("bytes" in decoded) return Effect.succeed(decoded.bytes)
  const message = `${what}: ${decoded.error}`
  return Effect.fail(oneShot ? usage(message) : new UserError({ message }))
}

/** All of stdin, as bytes. */
const readStdin = async (): Promise<Uint8Array> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return new Uint8Array(Buffer.concat(chunks))
}

/** The bytes of `--file PATH`, or of stdin for `-`. */
const readValue = (file: string): Effect.Effect<Uint8Array, UserError> =>
  Effect.tryPromise({
    try: () => (file === "-" ? readStdin() : fs.promises.readFile(file).then((b) => new Uint8Array(b))),
    catch: (e) => new UserError({ message: `--file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String((e as Error).message)}` })
  })

/** Writes a value's raw bytes to `--out PATH`, or stdout for `-`. */
const writeValue = (file: string, bytes: Uint8Array): Effect.Effect<void, UserError> =>
  Effect.try({
    try: () => (file === "-" ? void process.stdout.write(bytes) : fs.writeFileSync(file, bytes)),
    catch: (e) => new UserError({ message: `--out ${file}: ${String((e as Error).message)}` })
  })

const json = (value: unknown) => Console.log(JSON.stringify(value))

/** The JSON of a failure: the operation, its key, and the error. */
const failureJson = (cmd: Parsed, message: string) =>
  json({ op: cmd._tag.toLowerCase(), ...("key" in cmd ? { key: cmd.key } : {}), error: message })

/** Runs one command once, printing the result to stdout. */
const once = (client: DhtClient.Service, cmd: Parsed, io: Io, bench: Bench.Options, ring: { readonly watch: boolean; readonly positions: boolean }) =>
  Effect.gen(function*() {
    switch (cmd._tag) {
      case "Get": {
        const value = yield* client.get(yield* bytesOf("key", cmd.key, io.encoding, true))
        if (Option.isSome(io.out)) {
          yield* writeValue(io.out.value, value)
          if (io.json) yield* json({ op: "get", key: cmd.key, found: true, size: value.length, out: io.out.value })
          return
        }
        return yield* io.json ? json({ op: "get", key: cmd.key, found: true, value: Encoding.base64(value) }) : Console.log(Encoding.encode(value, io.encoding))
      }
      case "Set": {
        const key = yield* bytesOf("key", cmd.key, io.encoding)
        const value = cmd.value === undefined ? Option.getOrElse(io.value, () => new Uint8Array()) : yield* bytesOf("value", cmd.value, io.encoding, true)
        const previous = yield* client.set(key, value)
        if (io.json) {
          return yield* json({ op: "set", key: cmd.key, found: Option.isSome(previous), previous: Option.isSome(previous) ? Encoding.base64(previous.value) : null })
        }
        if (Option.isSome(previous)) yield* Console.log(Encoding.encode(previous.value, io.encoding))
        return
      }
      case "Delete": {
        const value = yield* client.delete(yield* bytesOf("key", cmd.key, io.encoding, true))
        return yield* io.json ? json({ op: "delete", key: cmd.key, found: true, value: Encoding.base64(value) }) : Console.log(Encoding.encode(value, io.encoding))
      }
      case "Ring":
        return yield* ring.watch ? RingTable.watch(client, io.json, ring.positions) : RingTable.show(client, io.json, ring.positions)
      case "Remove":
        return yield* removeMember(client, cmd.address, io.json)
      case "Bench":
        return yield* Effect.flatMap(Bench.run(client, bench), (r) => Bench.print(r, io.json))
      case "Health":
      case "Help":
        return yield* Console.log(USAGE)
      case "Exit":
        return
      case "Invalid":
        return yield* new UserError({ message: cmd.reason })
    }
  }).pipe(
    Effect.catchTags({
      KeyNotFound: (e) =>
        io.json
          ? Effect.andThen(json({ op: cmd._tag.toLowerCase(), key: e.key, found: false }), Effect.fail(new UserError({ message: e.message, exitCode: 1, reported: true })))
          : Effect.fail(new UserError({ message: e.message, exitCode: 1 })),
      RemoveRefused: (e) => Effect.fail(new UserError({ message: oneLine(e.message), exitCode: 1 })),
      NotAMember: (e) => Effect.fail(new UserError({ message: e.message, exitCode: 1 })),
      InvalidRequest: (e) => Effect.fail(new UserError({ message: `rejected: ${e.message}`, exitCode: exitCodeOf(e) })),
      AccessDenied: (e) => Effect.fail(new UserError({ message: `access denied: ${e.message}`, exitCode: 1 })),
      Unavailable: (e) => Effect.fail(new UserError({ message: `cluster unavailable: ${e.message}`, exitCode: exitCodeOf(e) })),
      Timeout: (e) => Effect.fail(new UserError({ message: `timed out: ${e.message}`, exitCode: exitCodeOf(e) }))
    }),
    // With --json a failure is a JSON object on stdout too, and nothing on stderr.
    Effect.catchTag("UserError", (e) =>
      io.json && e.reported !== true
        ? Effect.andThen(failureJson(cmd, e.message), Effect.fail(new UserError({ message: e.message, exitCode: e.exitCode ?? 1, reported: true })))
        : Effect.fail(e))
  )

/** One prompt line, answered with the original client's messages. Errors are printed, not fatal. */
const answer = (client: DhtClient.Service, io: Io, positions: boolean) => (cmd: Parsed): Effect.Effect<Prompt.Outcome> =>
  Effect.gen(function*() {
    const show = (text: string, value: unknown) => (io.json ? json(value) : Console.log(text))
    switch (cmd._tag) {
      case "Get": {
        const value = yield* client.get(yield* bytesOf("key", cmd.key, io.encoding))
        yield* show(`Value is: ${Encoding.encode(value, io.encoding)}`, { op: "get", key: cmd.key, found: true, value: Encoding.base64(value) })
        return Prompt.OK
      }
      case "Set": {
        const value = cmd.value ?? ""
        const previous = yield* client.set(yield* bytesOf("key", cmd.key, io.encoding), yield* bytesOf("value", value, io.encoding))
        yield* show(
          Option.isSome(previous)
            ? `Previous value was: ${Encoding.encode(previous.value, io.encoding)}, inserting: ${value}`
            : `Inserting new pair (${cmd.key}, ${value})`,
          { op: "set", key: cmd.key, found: Option.isSome(previous), previous: Option.isSome(previous) ? Encoding.base64(previous.value) : null }
        )
        return Prompt.OK
      }
      case "Delete": {
        const value = yield* client.delete(yield* bytesOf("key", cmd.key, io.encoding))
        yield* show(`Deleting: (${cmd.key}, ${Encoding.encode(value, io.encoding)})`, { op: "delete", key: cmd.key, found: true, value: Encoding.base64(value) })
        return Prompt.OK
      }
      case "Ring":
        yield* RingTable.show(client, io.json, positions)
        return Prompt.OK
      case "Remove":
        yield* removeMember(client, cmd.address, io.json)
        return Prompt.OK
      case "Health":
      case "Bench":
      case "Help":
        yield* Console.log(USAGE)
        return Prompt.OK
      case "Exit":
        return Prompt.OK
      case "Invalid":
        yield* io.json ? failureJson(cmd, `invalid entry: ${cmd.reason}`) : Console.log(`invalid entry: ${cmd.reason}`)
        return { failed: true, unreachable: false }
    }
  }).pipe(
    Effect.catch((e: ClientError.ClientError | DhtClient.RemoveRefused | DhtClient.NotAMember | UserError) =>
      Effect.as(
        io.json
          ? e._tag === "KeyNotFound" ? json({ op: cmd._tag.toLowerCase(), key: e.key, found: false }) : failureJson(cmd, oneLine(e.message))
          : Console.log(
            e._tag === "KeyNotFound"
              ? "Error: Key not present in database."
              : e._tag === "UserError"
              ? `invalid entry: ${e.message}`
              : `Error: ${oneLine(e.message)}`
          ),
        { failed: true, unreachable: e._tag === "Unavailable" || e._tag === "Timeout" }
      )
    )
  )

/** The `--timeout` value: a duration, or a bare number of milliseconds. */
const timeoutOf = (value: Option.Option<string>): Effect.Effect<Duration.Duration, UserError> =>
  Option.isNone(value)
    ? Effect.succeed(Duration.seconds(10))
    : /^\d+$/.test(value.value.trim())
    ? Number(value.value) >= 1
      ? Effect.succeed(Duration.millis(Number(value.value)))
      : Effect.fail(usage("--timeout must be at least 1 ms"))
    : Effect.mapError(Durations.parse("timeout", value.value), (e) => usage(e.message))

/** Flags that belong to one command only: each named flag, when given, needs its command. */
const misplaced = (verb: Parsed["_tag"], given: ReadonlyArray<readonly [string, boolean, Parsed["_tag"]]>): string | undefined => {
  const wrong = given.find(([, present, needs]) => present && verb !== needs)
  return wrong === undefined ? undefined : `${wrong[0]} works only with ${wrong[2].toLowerCase()}`
}

/** The `dht-client` command. */
export const command = Command.make("dht-client", flags, (f) =>
  Effect.gen(function*() {
    if (Option.isSome(f.registry) && f.node.length > 0) {
      return yield* usage("--registry and --node are mutually exclusive")
    }
    if (f.hex && f.base64) return yield* usage("--hex and --base64 are mutually exclusive")
    const timeout = yield* timeoutOf(f.timeout)
    const check = (flag: string, value: string) =>
      Effect.mapError(Address.parse(value), (e) => new UserError({ message: `--${flag}: ${e.message}` }))
    const target: DhtClient.Target = f.node.length > 0
      ? { nodes: yield* Effect.forEach(f.node, (n) => check("node", n)) }
      : {
        registry: yield* check(
          "registry",
          // $DHT_REGISTRY is read here rather than as the flag's fallback, so that --node wins over it.
          Option.isSome(f.registry) ? f.registry.value : yield* Config.String("DHT_REGISTRY").pipe(Config.withDefault("127.0.0.1:50000"))
        )
      }
    if (Option.isSome(f.user) && Option.isNone(f.certsDir)) return yield* usage("--user needs --certs-dir")
    const parsed = parse(f.words, { valueElsewhere: Option.isSome(f.file) })
    const wrong = misplaced(parsed._tag, [
      ["--file", Option.isSome(f.file), "Set"],
      ["--out", Option.isSome(f.out), "Get"],
      ["--watch", f.watch, "Ring"],
      ["--positions", f.positions, "Ring"],
      ["--ops", Option.isSome(f.ops), "Bench"],
      ["--concurrency", Option.isSome(f.concurrency), "Bench"],
      ["--value-size", Option.isSome(f.valueSize), "Bench"],
      ["--ratio", Option.isSome(f.ratio), "Bench"],
      ["--keys", Option.isSome(f.keys), "Bench"]
    ])
    if (wrong !== undefined && f.words.length > 0) return yield* usage(wrong)
    if (f.words.length > 0 && parsed._tag === "Invalid") return yield* usage(parsed.reason)
    // A bad address to remove is a usage error, whatever the cluster says.
    if (parsed._tag === "Remove") yield* removeTarget(parsed.address)
    const ratio = Option.isSome(f.ratio) ? Bench.parseRatio(f.ratio.value) : { get: 1, set: 1 }
    if (ratio === undefined) return yield* usage(`--ratio must be get:set, such as 1:1 or 9:1, got ${JSON.stringify(Option.getOrElse(f.ratio, () => ""))}`)
    const bench: Bench.Options = {
      ops: Option.getOrElse(f.ops, () => 10_000),
      concurrency: Option.getOrElse(f.concurrency, () => 16),
      valueSize: Option.getOrElse(f.valueSize, () => 100),
      keys: Option.getOrElse(f.keys, () => 1000),
      ratio
    }
    if (bench.ops < 1 || bench.concurrency < 1 || bench.keys < 1 || bench.valueSize < 0 || bench.valueSize > 1 << 20) {
      return yield* usage("bench: --ops, --concurrency and --keys must be at least 1, and --value-size 0 to 1048576")
    }
    const io: Io = {
      encoding: f.hex ? "hex" : f.base64 ? "base64" : "utf8",
      json: f.json,
      out: f.out,
      value: Option.isSome(f.file) ? Option.some(yield* readValue(f.file.value)) : Option.none()
    }
    // One-shot commands print nothing but their result; the prompt warns about plaintext.
    const security = yield* Security.make(
      f.certsDir,
      Option.match(f.user, { onNone: () => "ca-only" as const, onSome: (client) => ({ client }) }),
      "certificate",
      f.words.length === 0
    )
    if (parsed._tag === "Health") {
      // One server's own health, not the cluster's: the first --node, or the registry.
      const address = "nodes" in target ? target.nodes[0]! : target.registry
      const status = yield* Health.check(address, Duration.min(timeout, Duration.seconds(5))).pipe(
        Effect.provideService(Tls.Security, security),
        Effect.mapError((e) => new UserError({ message: `${address}: ${oneLine(e.message)}`, exitCode: 2 }))
      )
      yield* Console.log(status)
      if (status !== "SERVING") return yield* new UserError({ message: `${address} is not serving`, exitCode: 1 })
      return
    }
    return yield* Effect.scoped(Effect.gen(function*() {
      // Nothing that can answer: say so now, not when the deadline passes.
      yield* ("nodes" in target ? Preflight.nodes(target.nodes) : Preflight.registry(target.registry))
      const client = yield* DhtClient.make(target, { deadline: timeout, timeout: Duration.min(timeout, Duration.seconds(5)) })
      if (f.words.length === 0) {
        const code = yield* Prompt.run(answer(client, io, f.positions))
        if (code !== 0) return yield* new UserError({ message: "", exitCode: code, reported: true })
        return
      }
      return yield* once(client, parsed, io, bench, { watch: f.watch, positions: f.positions })
    })).pipe(Effect.provideService(Tls.Security, security))
  })).pipe(Command.withDescription("Query a Crusty Ring cluster: run one command, or open a prompt when none is given."))
