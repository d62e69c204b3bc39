/**
 * What every binary does: check the Node.js version, then load the command. An installed
 * package runs its build (`dist/`). Inside the repository the TypeScript sources are there and
 * run instead, with the sibling packages resolved to their sources too (the
 * `@crustyring/source` export condition), so development needs no build step.
 */
import { existsSync } from "node:fs"
import module from "node:module"
import { check } from "./node-version.js"

/** Runs the binary `name` (dht, dht-registry, dht-client or dht-certs). */
export const run = async (name) => {
  check(name)
  // Node's compile cache (in the OS temp dir) keeps V8's code for the modules loaded below, so
  // later runs start about 15% sooner. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
  module.enableCompileCache?.()
  const source = new URL(`../src/bin/${name}.ts`, import.meta.url)
  if (existsSync(source)) {
    module.registerHooks({
      resolve: (specifier, context, next) =>
        next(specifier, { ...context, conditions: [...context.conditions, "@crustyring/source"] })
    })
    await import(source.href)
  } else {
    await import(new URL(`../dist/bin/${name}.js`, import.meta.url).href)
  }
}
