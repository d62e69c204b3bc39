/**
 * Showing bytes to people: UTF-8 text as is, anything else escaped, so a value that is not
 * valid UTF-8 never breaks a terminal or a log line.
 */

const decoder = new TextDecoder("utf-8", { fatal: true })

/** UTF-8 text when the bytes are valid printable UTF-8, else a `\xNN`-escaped form. */
export const bytes = (b: Uint8Array): string => {
  try {
    const text = decoder.decode(b)
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return text
  } catch {
    // not UTF-8: fall through to escaping
  }
  let out = ""
  for (const byte of b) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c
      ? String.fromCharCode(byte)
      : byte === 0x5c
      ? "\\\\"
      : `\\x${byte.toString(16).padStart(2, "0")}`
  }
  return out
}
