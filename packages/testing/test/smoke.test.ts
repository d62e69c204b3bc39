import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestCluster } from "../src/index.ts"

describe("smoke", () => {
  it.live("set and get", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 3, logLevel: "Info" })
      const client = yield* cluster.client()
      yield* client.set("a", "1")
      const v = yield* client.get("a")
      expect(Buffer.from(v).toString()).toBe("1")
      const views = yield* cluster.views
      console.log(views.map((v) => [v.self.address, v.successors.map((s) => s.address), v.predecessor]))
    }))
})
