import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { TimeHeap } from "../src/index.ts"

describe("TimeHeap", () => {
  it("pops every item earliest first, and equal times in the order they were pushed", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
      const heap = new TimeHeap<{ readonly at: number; seq: number; readonly order: number }>()
      times.forEach((at, order) => heap.push({ at, seq: 0, order }))
      const out: Array<{ at: number; order: number }> = []
      for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push({ at: item.at, order: item.order })
      const expected = times.map((at, order) => ({ at, order })).sort((a, b) => a.at - b.at || a.order - b.order)
      expect(out).toEqual(expected)
      expect(heap.size).toBe(0)
    }))
  })

  it("interleaved pushes and pops still pop the earliest item", () => {
    fc.assert(fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }), { maxLength: 300 }), (steps) => {
      const heap = new TimeHeap<{ readonly at: number; seq: number }>()
      const model: Array<number> = []
      for (const step of steps) {
        if (step === undefined) {
          const min = model.length === 0 ? undefined : Math.min(...model)
          expect(heap.pop()?.at).toBe(min)
          if (min !== undefined) model.splice(model.indexOf(min), 1)
        } else {
          heap.push({ at: step, seq: 0 })
          model.push(step)
        }
        expect(heap.peek()?.at).toBe(model.length === 0 ? undefined : Math.min(...model))
      }
    }))
  })
})
