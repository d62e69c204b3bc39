/**
 * The interactive prompt of `dht-client`, on `node:readline`: line editing, history kept in a
 * file (`$DHT_HISTORY_FILE`, default `~/.dht_client_history`), tab completion of the verbs,
 * and shell-style quoting (see `Words`). It answers with the original client's messages.
 * Piped input is read the same way without the terminal parts, and the exit code says how it
 * went: 1 if any command failed, 2 if the cluster became unreachable.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { Console, Effect, Queue, Stream } from "effect"
import * as Words from "./Words.ts"

/** How one answered line went. */
export interface Outcome {
  readonly failed: boolean
  readonly unreachable: boolean
}

export const OK: Outcome = { failed: false, unreachable: false }

/** The most lines the history file keeps. */
const HISTORY_SIZE = 1000

const historyFile = () => process.env["DHT_HISTORY_FILE"] ?? path.join(os.homedir(), ".dht_client_history")

/** The history, newest first as readline wants it; none when the file cannot be read. */
const loadHistory = (file: string): Array<string> => {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").slice(-HISTORY_SIZE).reverse()
  } catch {
    return []
  }
}

const saveHistory = (file: string, newestFirst: ReadonlyArray<string>) => {
  try {
    fs.writeFileSync(file, [...newestFirst].reverse().join("\n") + "\n", { mode: 0o600 })
  } catch {
    // A history that cannot be written is not worth failing the prompt for.
  }
}

/**
 * Reads lines until end of input or `exit`, answering each with `answer`. Resolves to the exit
 * code: 0 in a terminal; for piped input 1 if any line failed, 2 if any found the cluster
 * unreachable.
 */
export const run = (answer: (parsed: Words.Parsed) => Effect.Effect<Outcome>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const tty = process.stdin.isTTY === true && process.stdout.isTTY === true
    const file = historyFile()
    const queue = yield* Queue.unbounded<string, import("effect").Cause.Done>()
    const rl = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const rl = readline.createInterface({
          input: process.stdin,
          ...(tty ? { output: process.stdout, terminal: true, history: loadHistory(file), historySize: HISTORY_SIZE, removeHistoryDuplicates: true, completer: Words.complete, prompt: "dht> " } : { terminal: false })
        })
        rl.on("line", (line) => void Queue.offerUnsafe(queue, line))
        rl.on("close", () => void Queue.endUnsafe(queue))
        if (tty) rl.on("history", (history: ReadonlyArray<string>) => saveHistory(file, history))
        return rl
      }),
      (rl) => Effect.sync(() => rl.close())
    )
    const prompt = tty ? Effect.sync(() => rl.prompt()) : Effect.void
    yield* Console.log("Enter DHT query (Get, Set or Delete). Type exit to quit.")
    yield* prompt
    let failed = false
    let unreachable = false
    yield* Stream.fromQueue(queue).pipe(
      Stream.map((line) => ({ line, parsed: Words.parseLine(line) })),
      Stream.takeWhile(({ parsed }) => parsed._tag !== "Exit"),
      Stream.runForEach(({ line, parsed }) =>
        Effect.gen(function*() {
          // A blank line just shows the prompt again.
          if (line.trim() !== "") {
            const outcome = yield* answer(parsed)
            failed ||= outcome.failed
            unreachable ||= outcome.unreachable
          }
          yield* prompt
        })
      )
    )
    if (tty) yield* Console.log("")
    return tty ? 0 : unreachable ? 2 : failed ? 1 : 0
  }).pipe(Effect.scoped)
