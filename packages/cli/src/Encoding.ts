/**
 * How `dht-client` reads keys and values from words and writes them back: UTF-8 text (shown
 * escaped when it is not valid UTF-8), or, with `--hex` or `--base64`, binary in those
 * encodings, both in and out.
 */
import { Display } from "@crustyring/client"

export type Encoding = "utf8" | "hex" | "base64"

/** The bytes of `text` in `encoding`, or a reason it is not valid in it. */
export const decode = (text: string, encoding: Encoding): { readonly bytes: Uint8Array } | { readonly error: string } => {
  switch (encoding) {
    case "utf8":
      return { bytes: new TextEncoder().encode(text) }
    case "hex":
      return /^([0-9a-fA-F]{2})*$/.test(text)
        ? { bytes: new Uint8Array(Buffer.from(text, "hex")) }
        : { error: `${JSON.stringify(text)} is not hex (an even number of 0-9 and a-f)` }
    case "base64": {
      const clean = text.replace(/\s+/g, "")
      return /^[A-Za-z0-9+/]*={0,2}$/.test(clean) && clean.length % 4 === 0
        ? { bytes: new Uint8Array(Buffer.from(clean, "base64")) }
        : { error: `${JSON.stringify(text)} is not base64` }
    }
  }
}

/** `bytes` as text in `encoding`; UTF-8 that is not valid is escaped as the CLI always showed it. */
export const encode = (bytes: Uint8Array, encoding: Encoding): string =>
  encoding === "hex" ? Buffer.from(bytes).toString("hex") : encoding === "base64" ? Buffer.from(bytes).toString("base64") : Display.bytes(bytes)

/** Base64, for JSON output. */
export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")
