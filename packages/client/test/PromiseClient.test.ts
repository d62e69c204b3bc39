/**
 * PromiseClient takes the same options as DhtClient: requests are retried through a node's
 * refusals, and a node that never answers rejects with Timeout by the `deadline`.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { PromiseClient } from "../src/index.ts"
import type { DhtClient } from "../src/index.ts"
import { QUORUM, scriptedNode } from "./ScriptedNode.ts"

/** A connected PromiseClient, closed with the scope. */
const connect = (target: DhtClient.Target, options?: DhtClient.Options) =>
  Effect.acquireRelease(Effect.promise(() => PromiseClient.connect(target, options)), (c) => Effect.promise(() => c.close()))

/** The promise's rejection, or undefined when it resolved. */
const rejection = (p: () => Promise<unknown>) => Effect.promise(() => p().then(() => undefined, (e: unknown) => e))

describe("PromiseClient", () => {
  it.live("retries through refusals, and rejects with Timeout by the deadline", () =>
    Effect.gen(function*() {
      const flaky = yield* scriptedNode((n) =>
        n < 2 ? { status: grpc.status.UNAVAILABLE, details: QUORUM } : { value: Buffer.from("v"), hops: 0 }
      )
      const client = yield* connect({ nodes: [flaky.address] })
      const v = yield* Effect.promise(() => client.get("k"))
      assert.strictEqual(Buffer.from(v).toString(), "v")
      assert.lengthOf(flaky.calls, 3)

      const silent = yield* scriptedNode(() => "hang")
      const hurried = yield* connect({ nodes: [silent.address] }, { deadline: "700 millis" })
      const start = performance.now()
      const e = yield* rejection(() => hurried.set("k", "v"))
      expect(performance.now() - start).toBeLessThan(700 + 750)
      // The attempt, cut to the deadline, may end a moment before it and be named as the last error.
      expect(e).toMatchObject({ _tag: "Timeout", message: expect.stringMatching(/^set "k": no node answered within 700ms/) })
    }))
})
