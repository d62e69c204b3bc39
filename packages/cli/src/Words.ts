/**
 * The words of a `dht-client` command, from the command line or a prompt line, parsed into a
 * command. Prompt lines split as a shell splits them when they quote (`set "my key" "a value"`),
 * else as the original client did: the verb, the key, and the rest of the line as the value.
 */
import { split } from "shlex"

/** A parsed command. */
export type Parsed =
  | { readonly _tag: "Get"; readonly key: string }
  | { readonly _tag: "Set"; readonly key: string; readonly value: string | undefined }
  | { readonly _tag: "Delete"; readonly key: string }
  | { readonly _tag: "Ring" }
  | { readonly _tag: "Remove"; readonly address: string }
  | { readonly _tag: "Health" }
  | { readonly _tag: "Bench" }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Exit" }
  | { readonly _tag: "Invalid"; readonly reason: string }

export const USAGE = "commands: GET key | SET key value | DELETE key | RING | REMOVE host:port | HELP | EXIT (case-insensitive)"

/** The verbs, for tab completion. */
export const VERBS = ["get", "set", "delete", "ring", "remove", "health", "help", "exit", "quit"] as const

/**
 * Parses words; a Set value is the rest of the words joined by single spaces. With
 * `valueElsewhere` (a `--file`), Set takes the key alone.
 */
export const parse = (words: ReadonlyArray<string>, options: { readonly valueElsewhere?: boolean } = {}): Parsed => {
  const [verb, key, ...rest] = words
  switch (verb?.toLowerCase()) {
    case "get":
      return key !== undefined && rest.length === 0 ? { _tag: "Get", key } : { _tag: "Invalid", reason: "usage: GET key" }
    case "delete":
    case "del":
      return key !== undefined && rest.length === 0 ? { _tag: "Delete", key } : { _tag: "Invalid", reason: "usage: DELETE key" }
    case "set":
      if (options.valueElsewhere) {
        return key !== undefined && rest.length === 0
          ? { _tag: "Set", key, value: undefined }
          : { _tag: "Invalid", reason: "usage: SET key --file PATH (the value comes from the file, so give no value words)" }
      }
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
    case "bench":
      return key === undefined ? { _tag: "Bench" } : { _tag: "Invalid", reason: "usage: bench [--ops N] [--concurrency C] [--value-size B] [--ratio get:set]" }
    case "help":
      return { _tag: "Help" }
    case "exit":
    case "quit":
      return { _tag: "Exit" }
    default:
      return { _tag: "Invalid", reason: `unknown command ${JSON.stringify(verb ?? "")}; ${USAGE}` }
  }
}

/** Splits a prompt line the way the original did, keeping the spaces inside a Set value. */
const splitPlain = (line: string): ReadonlyArray<string> => {
  const m = /^\s*(\S+)(?:\s+(\S+))?(?:\s+(.*?))?\s*$/.exec(line)
  if (!m) return []
  return [m[1]!, ...(m[2] !== undefined ? [m[2]] : []), ...(m[3] !== undefined && m[3] !== "" ? [m[3]] : [])]
}

/** The words of a prompt line: shell-style when it quotes or escapes, else the original's split. */
export const splitLine = (line: string): { readonly words: ReadonlyArray<string> } | { readonly error: string } => {
  if (!/["'\\]/.test(line)) return { words: splitPlain(line) }
  try {
    return { words: split(line) }
  } catch {
    return { error: "unbalanced quotes: close each \" or ', or escape it with \\" }
  }
}

/** A prompt line as a command. */
export const parseLine = (line: string): Parsed => {
  const split = splitLine(line)
  return "error" in split ? { _tag: "Invalid", reason: split.error } : parse(split.words)
}

/** Tab completion of the verb: the verbs that start with what was typed. */
export const complete = (line: string): [ReadonlyArray<string>, string] => {
  if (/\s/.test(line.trimStart())) return [[], line]
  const typed = line.trimStart().toLowerCase()
  const hits = VERBS.filter((v) => v.startsWith(typed)).map((v) => `${v} `)
  return [hits, line]
}
