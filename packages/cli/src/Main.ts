/**
 * Running a command as a process: logs to stderr, a user error printed as one clear line with
 * its exit code and no stack trace, and SIGINT/SIGTERM treated as a clean stop (exit 0).
 */
// The modules themselves, not the package index, which loads every Node service (about 0.2 s
// of every command's start-up).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { readFileSync } from "node:fs"
import { Cause, Console, Effect, Exit, Layer, Logger, Schema } from "effect"
import { CliConfig, CliError, CliOutput, GlobalFlag } from "effect/cli"
import { Grpc } from "@crustyring/protocol"

/** This package's version, which `--version` prints (read from package.json, in src/ and dist/ alike). */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version

/** An error meant for the person at the terminal. */
export class UserError extends Schema.TaggedError<UserError>()("UserError", {
  message: Schema.String,
  /** Process exit code. @default 1 */
  exitCode: Schema.optional(Schema.Number),
  /** The failure was reported already (e.g. as JSON on stdout): only the exit code is left to set. */
  reported: Schema.optional(Schema.Boolean)
}) {}

/**
 * A usage error is one line on stderr naming the problem, and where the help is; only
 * `--help` prints the help.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(
        `error: ${(event.errors[0]?.message ?? "invalid usage").replace(/\s*\n\s*/g, " ")}; see ${event.commandPath.join(" ")} --help`
      )
      : CliOutput.defaultPresenter.present(event)
}

/** The built-in flags: --help, --version and --log-level (no --wizard and no --completions). */
const builtIns = GlobalFlag.BuiltIns.filter((f) => f !== GlobalFlag.Wizard && f !== GlobalFlag.Completions)

/** Marks an exit code on the process once the program ends. */
let exitCode = 0

/**
 * Drops Node's DEP0123 warning, which grpc-js sets off on every TLS connection to an IP
 * address (it passes the IP as the TLS server name; the certificate's IP SAN is still checked).
 */
const silenceIpServerNameWarning = () => {
  const emit = process.emitWarning.bind(process) as (...args: Array<unknown>) => void
  process.emitWarning = ((warning: unknown, ...rest: Array<unknown>) => {
    const code = typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1]
    if (code === "DEP0123") return
    emit(warning, ...rest)
  }) as typeof process.emitWarning
}

/**
 * Ends the program quietly when the reader of its output has gone (`dht-client | head -1`), as
 * a C tool ends on SIGPIPE, with the exit code so far: the output is no longer wanted.
 */
const quietOnClosedStdout = () => {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e
    process.exit(exitCode)
  })
}

/** Runs a CLI program until it ends or the process gets SIGINT/SIGTERM. */
export const run = <E>(program: Effect.Effect<void, E, NodeServices.NodeServices>): void => {
  Grpc.silenceLibraryLogs()
  silenceIpServerNameWarning()
  quietOnClosedStdout()
  program.pipe(
    Effect.catch((e: unknown) =>
      Effect.gen(function*() {
        if (e instanceof UserError) {
          if (e.reported !== true) yield* Console.error(`error: ${e.message}`)
          exitCode = e.exitCode ?? 1
        } else if (CliError.isCliError(e)) {
          // The presenter has printed the problem in one line; a plain --help is exit 0.
          exitCode = e._tag === "ShowHelp" && e.errors.length === 0 ? 0 : 1
        } else {
          const message = typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e)
          yield* Console.error(`error: ${message}`)
          exitCode = 1
        }
      })
    ),
    Effect.provide(NodeServices.layer),
    Effect.provide(Layer.mergeAll(CliOutput.layerPresenter(presenter), CliConfig.layer({ builtIns }))),
    Effect.provideService(Logger.LogToStderr, true),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      teardown: (exit, onExit) => {
        if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return onExit(exitCode)
        process.stderr.write(`error: ${Cause.pretty(exit.cause).split("\n")[0]}\n`)
        onExit(exitCode || 1)
      }
    })
  )
}
