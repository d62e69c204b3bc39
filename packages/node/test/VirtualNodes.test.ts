/**
 * `VirtualNodes.takerOf`: whom a leaving position asks to take its range over, when its view's
 * predecessor may be a position of the same process that has left already.
 */
import { describe, expect, it } from "@effect/vitest"
import { Address } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Option } from "effect"
import { Membership, VirtualNodes } from "../src/index.ts"

const member = (address: string): Membership.Member => ({ id: Position.nodeId(Address.unsafeMake(address)), address: Address.unsafeMake(address) })
const [a0, a1, a2, a3] = [0, 1, 2, 3].map((i) => member(i === 0 ? "a:7000" : `a:7000#${i}`))
const remote = member("b:7000")

describe("VirtualNodes.takerOf", () => {
  it("asks the predecessor itself when it has not left, or outside virtual nodes", () => {
    const vnodes = VirtualNodes.make(4)
    expect(VirtualNodes.takerOf(Option.some(vnodes), a0!, a1!)).toBe(a1)
    vnodes.left.set(a1!.id, remote)
    expect(VirtualNodes.takerOf(Option.none(), a0!, a1!)).toBe(a1)
  })

  it("follows positions that have left to the member that took their range", () => {
    const vnodes = VirtualNodes.make(4)
    // a3 handed its range to a2, which handed both to the remote node.
    vnodes.left.set(a3!.id, a2!)
    vnodes.left.set(a2!.id, remote)
    expect(VirtualNodes.takerOf(Option.some(vnodes), a0!, a3!)).toBe(remote)
    expect(VirtualNodes.takerOf(Option.some(vnodes), a0!, a2!)).toBe(remote)
  })

  it("stops at the leaving position itself, and ends on a cycle", () => {
    const vnodes = VirtualNodes.make(4)
    vnodes.left.set(a2!.id, a1!)
    expect(VirtualNodes.takerOf(Option.some(vnodes), a1!, a2!)).toBe(a2)
    vnodes.left.set(a3!.id, a2!)
    vnodes.left.set(a2!.id, a3!)
    expect([a2, a3]).toContain(VirtualNodes.takerOf(Option.some(vnodes), a0!, a3!))
  })
})
