/**
 * `dht-client`: runs one command (`get k`, `set k v`, `delete k`, `ring`, `remove host:port`)
 * or, with none, an interactive prompt like the original client's. Values are shown as UTF-8,
 * or escaped when they are not.
 *
 * Exit codes: 0 done; 1 missing key, rejected request, refused or unknown removal, or bad
 * usage; 2 cluster unreachable or out of time.
 */
import { ClientError, DhtClient, Display, RingStatus } from "@crustyring/client"
import { Address, Health, Tls } from "@crustyring/protocol"
import { Config, Console, Effect, Option, Queue, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as readline from "node:readline"
import { UserError } from "./Main.ts"
import * as Security from "./Security.ts"

const flags = {
  registry: Flag.String("registry").pipe(
    Flag.withDescription("Registry host:port to find nodes through (default 127.0.0.1:50000; env DHT_REGISTRY)"),
    Flag.optional
  ),
  node: Flag.String("node").pipe(
    Flag.withDescription("A node host:port to send requests to; repeat for several. Replaces --registry and $DHT_REGISTRY"),
    Flag.atLeast(0)
  ),
  timeout: Flag.Int("timeout").pipe(
    Flag.withDescription(
      "Deadline of each request in milliseconds, retries on other nodes included (default 10000); one attempt waits at most 5000"
    ),
    Flag.withDefault(10_000)
  ),
  certsDir: Security.certsDir,
  user: Flag.String("user").pipe(
    Flag.withDescription("With --certs-dir: present DIR/client.NAME.crt and its key (env DHT_USER; none: TLS with no certificate, for --client-auth none)"),
    Flag.withFallbackConfig(Config.String("DHT_USER")),
    Flag.optional
  ),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("With `ring` or `remove`: print the result as JSON"),
    Flag.withDefault(false)
  ),
  words: Argument.String("command").pipe(
    Argument.withDescription(
      "get KEY | set KEY VALUE... | delete KEY | ring | remove HOST:PORT (forget a member that no longer answers) | health (the gRPC health of the first --node, or the registry: exit 0 SERVING, 1 NOT_SERVING, 2 unreachable); none opens a prompt"
    ),
    Argument.variadic()
  )
}

/** A parsed command line or prompt line. */
type Parsed =
  | { readonly _tag: "Get"; readonly key: string }
  | { readonly _tag: "Set"; readonly key: string; readonly value: string }
  | { readonly _tag: "Delete"; readonly key: string }
  | { readonly _tag: "Ring" }
  | { readonly _tag: "Remove"; readonly address: string }
  | { readonly _tag: "Health" }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Exit" }
  | { readonly _tag: "Invalid"; readonly reason: string }

const USAGE = "commands: GET key | SET key value | DELETE key | RING | REMOVE host:port | HELP | EXIT (case-insensitive)"

/** Parses words; a Set value is the rest of the words joined by single spaces. */
export const parse = (words: ReadonlyArray<string>): Parsed => {
  const [verb, key, ...rest] = words
  switch (verb?.toLowerCase()) {
    case "get":
      return key !== undefined && rest.length === 0 ? { _tag: "Get", key } : { _tag: "Invalid", reason: "usage: GET key" }
    case "delete":
    case "del":
      return key !== undefined && rest.length === 0 ? { _tag: "Delete", key } : { _tag: "Invalid", reason: "usage: DELETE key" }
    case "set":
      return key !== undefined && rest.length > 0
        ? { _tag: "Set", key, value: rest.join(" ") }
        : { _tag: "Invalid", reason: "usage: SET key value" }
    case "ring":
      return key === undefined ? { _tag: "Ring" } : { _tag: "Invalid", reason: "usage: RING" }
    case "remove":
      return key !== undefined && rest.length === 0
        ? { _tag: "Remove", address: key }
        : { _tag: "Invalid", reason: "usage: REMOVE host:port (the address of a member that no longer answers)" }
    case "health":
      return key === undefined ? { _tag: "Health" } : { _tag: "Invalid", reason: "usage: HEALTH" }
    case "help":
      return { _tag: "Help" }
    case "exit":
    case "quit":
      return { _tag: "Exit" }
    default:
      return { _tag: "Invalid", reason: `unknown command ${JSON.stringify(verb ?? "")}; ${USAGE}` }
  }
}

/** Splits a prompt line the way the original did, but keeps the spaces inside a Set value. */
const splitLine = (line: string): ReadonlyArray<string> => {
  const m = /^\s*(\S+)(?:\s+(\S+))?(?:\s+(.*?))?\s*$/.exec(line)
  if (!m) return []
  return [m[1]!, ...(m[2] !== undefined ? [m[2]] : []), ...(m[3] !== undefined && m[3] !== "" ? [m[3]] : [])]
}

const exitCodeOf = (e: { readonly _tag: string }) => (e._tag === "Unavailable" || e._tag === "Timeout" ? 2 : 1)

/** A silence in the largest two units: `850ms`, `12s`, `3m4s`, `2h5m`, `3d4h`. */
export const formatSilence = (ms: number): string => {
  if (ms < 1000) return `${Math.max(0, Math.floor(ms))}ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`
}

const nodesWord = (n: number) => `${n} node${n === 1 ? "" : "s"}`

/**
 * `5 nodes`, or `512 virtual nodes on 4 nodes` when they are virtual nodes of fewer processes;
 * `bare` leaves out the word "nodes" when they are not (`1`, for `5 nodes up, 1 down`).
 */
const countOf = (addresses: ReadonlyArray<string>, bare = false): string => {
  // Virtual nodes of one process share its "host:port".
  const processes = new Set(addresses.map(Address.target)).size
  if (processes !== addresses.length) return `${addresses.length} virtual nodes on ${nodesWord(processes)}`
  return bare ? String(processes) : nodesWord(processes)
}

/**
 * The ring as a table: one line per live node, in ring order, then one line per down member
 * (once, with the longest silence any node reports), and a summary line.
 */
export const formatRing = (nodes: ReadonlyArray<RingStatus.NodeStatus>): string => {
  const down = RingStatus.down(nodes)
  const rows = [
    ["ID", "ADDRESS", "RANGE", "OWNED", "STORED", "COPIES", "REPAIR", "PHASE"],
    ...nodes.map((n) => [
      n.idHex,
      n.address,
      `[${n.range.start}, ${n.range.end})`,
      String(n.ownedKeys),
      String(n.keys),
      // Owned keys confirmed at the target copy count, e.g. "833/833 x3".
      `${n.replicatedKeys}/${n.ownedKeys} x${n.copies}`,
      n.repair ? `${n.repair.percent}% ${n.repair.keysPerSecond} keys/s` : "-",
      n.phase
    ]),
    // A down member owns nothing while down: its range is served by the next live nodes.
    ...down.map((d) => [d.idHex, d.address, "-", "-", "-", "-", "-", `down ${formatSilence(d.silentMs)}`])
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const owned = nodes.reduce((sum, n) => sum + n.ownedKeys, 0)
  const replicated = nodes.reduce((sum, n) => sum + n.replicatedKeys, 0)
  const live = countOf(nodes.map((n) => n.address))
  // `5 nodes up, 1 down`; `512 virtual nodes on 4 nodes up, 128 virtual nodes on 1 node down`.
  const count = down.length === 0 ? live : `${live} up, ${countOf(down.map((d) => d.address), true)} down`
  return [
    ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()),
    `${count}, ${owned} keys, ${replicated} at full copies`
  ].join("\n")
}

const showRing = (client: DhtClient.Service, json: boolean) =>
  Effect.flatMap(client.ring(), (nodes) => Console.log(json ? JSON.stringify(nodes, null, 2) : formatRing(nodes)))

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

/** A node's words on one line, whatever it sent. */
const oneLine = (message: string) => message.replace(/\s*\n\s*/g, " ")

/**
 * What `remove` did, for people: one line for stdout, counted in processes (the virtual nodes
 * of a process count once), and a warning for each node that could not be asked.
 */
export const formatRemoved = (r: DhtClient.Removed): { readonly line: string; readonly warnings: ReadonlyArray<string> } => {
  const forgot = new Set(r.forgotten.map((f) => Address.target(f.node)))
  const silent = new Set(r.unanswered.map((u) => Address.target(u.node)).filter((p) => !forgot.has(p)))
  const unaware = new Set(r.unaware.map(Address.target).filter((p) => !forgot.has(p) && !silent.has(p)))
  const line = `removed ${r.address}: ${nodesWord(forgot.size)} forgot it` +
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

/** Runs one command once, printing the result to stdout. */
const once = (client: DhtClient.Service, cmd: Parsed, json: boolean) =>
  Effect.gen(function*() {
    switch (cmd._tag) {
      case "Get":
        return yield* Console.log(Display.bytes(yield* client.get(cmd.key)))
      case "Set": {
        const previous = yield* client.set(cmd.key, cmd.value)
        if (Option.isSome(previous)) yield* Console.log(Display.bytes(previous.value))
        return
      }
      case "Delete":
        return yield* Console.log(Display.bytes(yield* client.delete(cmd.key)))
      case "Ring":
        return yield* showRing(client, json)
      case "Remove":
        return yield* removeMember(client, cmd.address, json)
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
      KeyNotFound: (e) => Effect.fail(new UserError({ message: e.message, exitCode: 1 })),
      RemoveRefused: (e) => Effect.fail(new UserError({ message: oneLine(e.message), exitCode: 1 })),
      NotAMember: (e) => Effect.fail(new UserError({ message: e.message, exitCode: 1 })),
      InvalidRequest: (e) => Effect.fail(new UserError({ message: `rejected: ${e.message}`, exitCode: exitCodeOf(e) })),
      AccessDenied: (e) => Effect.fail(new UserError({ message: `access denied: ${e.message}`, exitCode: 1 })),
      Unavailable: (e) => Effect.fail(new UserError({ message: `cluster unavailable: ${e.message}`, exitCode: exitCodeOf(e) })),
      Timeout: (e) => Effect.fail(new UserError({ message: `timed out: ${e.message}`, exitCode: exitCodeOf(e) }))
    })
  )

/** One prompt line, answered with the original client's messages. Errors are printed, not fatal. */
const answer = (client: DhtClient.Service, cmd: Parsed): Effect.Effect<void> =>
  Effect.gen(function*() {
    switch (cmd._tag) {
      case "Get":
        return yield* Console.log(`Value is: ${Display.bytes(yield* client.get(cmd.key))}`)
      case "Set": {
        const previous = yield* client.set(cmd.key, cmd.value)
        return yield* Console.log(
          Option.isSome(previous)
            ? `Previous value was: ${Display.bytes(previous.value)}, inserting: ${cmd.value}`
            : `Inserting new pair (${cmd.key}, ${cmd.value})`
        )
      }
      case "Delete":
        return yield* Console.log(`Deleting: (${cmd.key}, ${Display.bytes(yield* client.delete(cmd.key))})`)
      case "Ring":
        return yield* showRing(client, false)
      case "Remove":
        return yield* removeMember(client, cmd.address, false)
      case "Health":
        return yield* Console.log("health is a one-shot command: dht-client --node HOST:PORT health")
      case "Help":
        return yield* Console.log(USAGE)
      case "Exit":
        return
      case "Invalid":
        return yield* Console.log(`invalid entry: ${cmd.reason}`)
    }
  }).pipe(
    Effect.catch((e: ClientError.ClientError | DhtClient.RemoveRefused | DhtClient.NotAMember | UserError) =>
      Console.log(
        e._tag === "KeyNotFound"
          ? "Error: Key not present in database."
          : e._tag === "UserError"
          ? `invalid entry: ${e.message}`
          : `Error: ${oneLine(e.message)}`
      )
    )
  )

/** Lines of stdin, ended by end of input. */
const lines = Stream.callback<string>((queue) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const rl = readline.createInterface({ input: process.stdin, terminal: false })
      rl.on("line", (line) => {
        Queue.offerUnsafe(queue, line)
      })
      rl.on("close", () => {
        Queue.endUnsafe(queue)
      })
      return rl
    }),
    (rl) => Effect.sync(() => rl.close())
  ))

const prompt = (client: DhtClient.Service) =>
  Effect.gen(function*() {
    const tty = process.stdin.isTTY === true
    const show = tty ? Effect.sync(() => process.stdout.write("dht> ")) : Effect.void
    yield* Console.log("Enter DHT query (Get, Set or Delete). Type exit to quit.")
    yield* show
    yield* lines.pipe(
      Stream.takeWhile((line) => parse(splitLine(line))._tag !== "Exit"),
      // A blank line just shows the prompt again.
      Stream.runForEach((line) => Effect.andThen(line.trim() === "" ? Effect.void : answer(client, parse(splitLine(line))), show))
    )
    if (tty) yield* Console.log("")
  })

/** The `dht-client` command. */
export const command = Command.make("dht-client", flags, (f) =>
  Effect.gen(function*() {
    if (Option.isSome(f.registry) && f.node.length > 0) {
      return yield* new UserError({ message: "--registry and --node are mutually exclusive" })
    }
    if (f.timeout < 1) return yield* new UserError({ message: "--timeout must be at least 1 ms" })
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
    if (Option.isSome(f.user) && Option.isNone(f.certsDir)) return yield* new UserError({ message: "--user needs --certs-dir" })
    // One-shot commands print nothing but their result; the prompt warns about plaintext.
    const security = yield* Security.make(
      f.certsDir,
      Option.match(f.user, { onNone: () => "ca-only" as const, onSome: (client) => ({ client }) }),
      "certificate",
      f.words.length === 0
    )
    const parsed = parse(f.words)
    if (parsed._tag === "Health") {
      // One server's own health, not the cluster's: the first --node, or the registry.
      const address = "nodes" in target ? target.nodes[0]! : target.registry
      const status = yield* Health.check(address, `${Math.min(f.timeout, 5000)} millis`).pipe(
        Effect.provideService(Tls.Security, security),
        Effect.mapError((e) => new UserError({ message: `${address}: ${oneLine(e.message)}`, exitCode: 2 }))
      )
      yield* Console.log(status)
      if (status !== "SERVING") return yield* new UserError({ message: `${address} is not serving`, exitCode: 1 })
      return
    }
    return yield* Effect.scoped(Effect.gen(function*() {
      const client = yield* DhtClient.make(target, {
        deadline: `${f.timeout} millis`,
        timeout: `${Math.min(f.timeout, 5000)} millis`
      })
      if (f.words.length === 0) return yield* prompt(client)
      return yield* once(client, parse(f.words), f.json)
    })).pipe(Effect.provideService(Tls.Security, security))
  })).pipe(Command.withDescription("Query a Crusty Ring cluster: run one command, or open a prompt when none is given."))
