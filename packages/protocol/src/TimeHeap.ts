/**
 * A min-heap of timed items, earliest first, and equal times in the order they were pushed, so
 * whatever pops them does so deterministically: the memory network's deadlines and the
 * simulator's sleepers.
 */

/** An item with a time; `seq` is set by the heap. */
export interface Timed {
  readonly at: number
  seq: number
}

const before = (x: Timed, y: Timed) => x.at < y.at || (x.at === y.at && x.seq < y.seq)

/** The heap. */
export class TimeHeap<T extends Timed> {
  private readonly items: Array<T> = []
  private next = 0

  get size(): number {
    return this.items.length
  }

  /** The earliest item, left in place. */
  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    item.seq = this.next++
    const a = this.items
    a.push(item)
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1
      if (!before(a[i]!, a[p]!)) break
      ;[a[i], a[p]] = [a[p]!, a[i]!]
      i = p
    }
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      for (let i = 0;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l]!, a[m]!)) m = l
        if (r < a.length && before(a[r]!, a[m]!)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m]!, a[i]!]
        i = m
      }
    }
    return top
  }
}
