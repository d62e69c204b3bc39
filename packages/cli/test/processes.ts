/**
 * Test helpers that run the CLI binaries as real child processes.
 *
 * - `spawnBin` starts a long-running binary (a node, the registry) in the current Scope. Its
 *   finalizer SIGKILLs the process if it is still alive, so nothing outlives a test, even a
 *   failed or interrupted one.
 * - `runBin` runs a one-shot command with a hard deadline and returns its exit code and output.
 *
 * The binaries run on the Node that runs the tests (`process.execPath`, Node 24 here), which
 * executes the `.ts` sources directly. `DHT_*` variables are removed from the child's
 * environment so that a developer's shell settings cannot change what a test sees, and nodes
 * run one ring position each (`DHT_VNODES=1`) unless a test asks for more.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Data, Duration, Effect, type Scope } from "effect"

/** The three binaries of the cli package. */
export type BinName = "dht" | "dht-registry" | "dht-client" | "dht-certs"

/** A child process did not behave as a test expected (deadline passed, died early, ...). */
export class ProcessError extends Data.TaggedError("ProcessError")<{ readonly message: string }> {}

/** The absolute path of a binary's source. */
export const binPath = (name: BinName): string => fileURLToPath(new URL(`../src/bin/${name}.ts`, import.meta.url))

/** How a process ended. `code` is null when a signal ended it. */
export interface ExitStatus {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface SpawnOptions {
  /** Extra environment variables, on top of the parent's minus `DHT_*`. */
  readonly env?: Readonly<Record<string, string>>
  /** A name used in error messages. @default the binary name */
  readonly label?: string
  /** The working directory. @default this process's */
  readonly cwd?: string
  /**
   * Runs the process in a process group of its own, and ends the whole group when the scope
   * closes: for wrappers such as `npx` that run the real program as a child.
   */
  readonly group?: boolean
}

/** A running binary. */
export interface Proc {
  readonly label: string
  readonly pid: number
  /** Everything written to stdout so far. */
  readonly stdout: string
  /** Everything written to stderr so far. */
  readonly stderr: string
  /** The exit status once the process has ended and its pipes are closed, else undefined. */
  readonly status: ExitStatus | undefined
  /**
   * Waits until stderr matches `regex` and returns the match. Fails when the deadline passes or
   * the process ends first; the error message carries the output.
   */
  readonly waitForStderr: (regex: RegExp, timeout?: Duration.Input) => Effect.Effect<RegExpMatchArray, ProcessError>
  /** Same as `waitForStderr`, for stdout. */
  readonly waitForStdout: (regex: RegExp, timeout?: Duration.Input) => Effect.Effect<RegExpMatchArray, ProcessError>
  /** Waits for the process to end (output fully read), with no deadline; returns the exit code. */
  readonly exit: Effect.Effect<number | null>
  /** Waits for the process to end, with a deadline; fails with the output when it passes. */
  readonly exitWithin: (timeout: Duration.Input) => Effect.Effect<ExitStatus, ProcessError>
  /** Sends a signal (no-op once the process has ended). */
  readonly kill: (signal?: NodeJS.Signals) => Effect.Effect<void>
  /** Writes to stdin. */
  readonly write: (data: string | Uint8Array) => Effect.Effect<void>
  /** Closes stdin (end of input). */
  readonly endInput: Effect.Effect<void>
}

const childEnv = (extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("DHT_") && v !== undefined) env[k] = v
  }
  // Tests read the pretty log text; a test of the JSON format asks for it. Nodes take one ring
  // position each, so a test's assertions can name processes; a test of virtual nodes passes
  // --vnodes, and one of the default layout unsets DHT_VNODES (`extra: { DHT_VNODES: "" }`).
  const out: NodeJS.ProcessEnv = { ...env, NO_COLOR: "1", DHT_LOG_FORMAT: "pretty", DHT_VNODES: "1", ...extra }
  if (out.DHT_VNODES === "") delete out.DHT_VNODES
  return out
}

const tail = (s: string, max = 2000) => (s.length > max ? `…${s.slice(-max)}` : s)

const describeOutput = (p: { readonly stdout: string; readonly stderr: string }) =>
  `\n--- stdout ---\n${tail(p.stdout)}\n--- stderr ---\n${tail(p.stderr)}`

const formatDuration = (d: Duration.Input) => Duration.format(Duration.fromInputUnsafe(d))

/** Builds the handle of a spawned child; shared by `spawnBin` and `runBin`. */
const handleOf = (child: ChildProcess, label: string): Proc => {
  let stdout = ""
  let stderr = ""
  let status: ExitStatus | undefined
  const closeWaiters = new Set<() => void>()
  const outputWaiters = new Set<() => void>()

  child.stdout?.setEncoding("utf8")
  child.stderr?.setEncoding("utf8")
  child.stdout?.on("data", (chunk: string) => {
    stdout += chunk
    for (const w of outputWaiters) w()
  })
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk
    for (const w of outputWaiters) w()
  })
  // A closed stdin (the child exited before reading it) must not crash the test runner.
  child.stdin?.on("error", () => {})
  child.on("close", (code, signal) => {
    status = { code, signal }
    for (const w of closeWaiters) w()
    for (const w of outputWaiters) w()
  })
  child.on("error", (err) => {
    stderr += `\n[spawn error] ${err.message}\n`
    if (status === undefined && child.pid === undefined) {
      status = { code: null, signal: null }
      for (const w of closeWaiters) w()
      for (const w of outputWaiters) w()
    }
  })

  const snapshot = () => ({ stdout, stderr })

  const waitFor = (stream: "stdout" | "stderr", regex: RegExp, timeout: Duration.Input) =>
    Effect.callback<RegExpMatchArray, ProcessError>((resume) => {
      const check = () => {
        const m = (stream === "stdout" ? stdout : stderr).match(regex)
        if (m) {
          outputWaiters.delete(check)
          resume(Effect.succeed(m))
        } else if (status !== undefined) {
          outputWaiters.delete(check)
          resume(Effect.fail(
            new ProcessError({
              message: `${label} exited (code ${status.code}, signal ${status.signal}) before its ${stream} matched ${regex}${describeOutput(snapshot())}`
            })
          ))
        }
      }
      outputWaiters.add(check)
      check()
      return Effect.sync(() => outputWaiters.delete(check))
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new ProcessError({
              message: `${label}: ${stream} did not match ${regex} within ${formatDuration(timeout)}${describeOutput(snapshot())}`
            })
          )
      })
    )

  const closed = Effect.callback<ExitStatus>((resume) => {
    if (status !== undefined) return resume(Effect.succeed(status))
    const done = () => {
      closeWaiters.delete(done)
      resume(Effect.succeed(status!))
    }
    closeWaiters.add(done)
    return Effect.sync(() => closeWaiters.delete(done))
  })

  return {
    label,
    pid: child.pid ?? -1,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    get status() {
      return status
    },
    waitForStderr: (regex, timeout = "10 seconds") => waitFor("stderr", regex, timeout),
    waitForStdout: (regex, timeout = "10 seconds") => waitFor("stdout", regex, timeout),
    exit: Effect.map(closed, (s) => s.code),
    exitWithin: (timeout) =>
      closed.pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.fail(
              new ProcessError({
                message: `${label} did not exit within ${formatDuration(timeout)}${describeOutput(snapshot())}`
              })
            )
        })
      ),
    kill: (signal = "SIGTERM") =>
      Effect.sync(() => {
        if (status === undefined && child.exitCode === null && child.signalCode === null) child.kill(signal)
      }),
    write: (data) =>
      Effect.callback<void>((resume) => {
        if (!child.stdin || child.stdin.destroyed) return resume(Effect.void)
        child.stdin.write(data, () => resume(Effect.void))
      }),
    endInput: Effect.sync(() => {
      child.stdin?.end()
    })
  }
}

/** Kills a child that is still alive and waits (briefly) for it to be gone. */
const reap = (child: ChildProcess, proc: Proc, group: boolean) =>
  Effect.gen(function*() {
    if (group && child.pid !== undefined) {
      // The group outlives its leader when the leader is a wrapper: end it either way.
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {
        // no process is left in the group
      }
    } else if (proc.status === undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL")
    }
    // SIGKILL cannot be ignored; the wait only lets the pipes drain. Never hang a finalizer.
    yield* Effect.ignore(proc.exitWithin("5 seconds"))
    child.stdin?.destroy()
  })

/**
 * Starts any command in the current Scope, with the same handle and clean-up as `spawnBin`: the
 * process is SIGKILLed when the scope closes if it is still running.
 */
export const spawnCommand = (
  command: string,
  args: ReadonlyArray<string>,
  options: SpawnOptions & { readonly label: string }
): Effect.Effect<Proc, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(command, args, {
          env: childEnv(options.env),
          stdio: ["pipe", "pipe", "pipe"],
          detached: options.group === true,
          ...(options.cwd === undefined ? {} : { cwd: options.cwd })
        })
        return { child, proc: handleOf(child, options.label) }
      }),
      ({ child, proc }) => reap(child, proc, options.group === true)
    ),
    ({ proc }) => proc
  )

/**
 * Starts a binary in the current Scope. The process is SIGKILLed when the scope closes if it is
 * still running.
 */
export const spawnBin = (
  name: BinName,
  args: ReadonlyArray<string>,
  options: SpawnOptions = {}
): Effect.Effect<Proc, never, Scope.Scope> =>
  spawnCommand(process.execPath, [binPath(name), ...args], { ...options, label: options.label ?? `${name} ${args.join(" ")}` })

/** The outcome of a one-shot command. */
export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** Wall-clock time from spawn to exit. */
  readonly millis: number
}

export interface RunOptions extends SpawnOptions {
  /** Written to stdin, which is then closed. Stdin is always closed, empty by default. */
  readonly stdin?: string | Uint8Array
  /** Hard deadline: the process is SIGKILLed and the effect fails when it passes. */
  readonly timeout: Duration.Input
}

/** Runs a binary to completion with a hard deadline. */
export const runBin = (
  name: BinName,
  args: ReadonlyArray<string>,
  options: RunOptions
): Effect.Effect<RunResult, ProcessError> =>
  runCommand(process.execPath, [binPath(name), ...args], { ...options, label: options.label ?? `${name} ${args.join(" ")}` })

/** Runs any command to completion with a hard deadline, like `runBin`. */
export const runCommand = (
  command: string,
  args: ReadonlyArray<string>,
  options: RunOptions & { readonly label: string }
): Effect.Effect<RunResult, ProcessError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const started = Date.now()
      const proc = yield* spawnCommand(command, args, options)
      if (options.stdin !== undefined) yield* proc.write(options.stdin)
      yield* proc.endInput
      const status = yield* proc.exitWithin(options.timeout)
      return { ...status, stdout: proc.stdout, stderr: proc.stderr, millis: Date.now() - started }
    })
  )

/** Matches the frames of a JavaScript stack trace. */
export const STACK_TRACE = /\n\s+at /
