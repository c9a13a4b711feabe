/**
 * The k smallest items under a total order (a max-heap of k). Mergeable: the k smallest of a
 * union are among the k smallest of each part, so shards keep theirs and the merge stage takes
 * the k smallest of what they sent — the same set for any split. Items are ordered by a 32-bit
 * key first (a name's hash), so a query whose key is above the current maximum is turned away
 * without building its item.
 */
export class BottomK<T extends { 0: number }> {
  private readonly heap: T[] = [];

  constructor(
    readonly k: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** Could an item with this key enter? (Ties are settled by `offer`.) */
  admits(key: number): boolean {
    return this.k > 0 && (this.heap.length < this.k || key <= this.heap[0]![0]);
  }

  offer(item: T): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(item);
      this.up(h.length - 1);
    } else if (this.k > 0 && this.compare(item, h[0]!) < 0) {
      h[0] = item;
      this.down(0);
    }
  }

  /** The items, smallest first; empties the heap. */
  take(): T[] {
    const out = this.heap.splice(0).sort(this.compare);
    return out;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.compare(h[i]!, h[p]!) <= 0) return;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) return;
      const r = l + 1;
      let big = l;
      if (r < h.length && this.compare(h[r]!, h[l]!) > 0) big = r;
      if (this.compare(h[big]!, h[i]!) <= 0) return;
      [h[i], h[big]] = [h[big]!, h[i]!];
      i = big;
    }
  }
}

/** The k smallest of several sorted-or-not lists under `compare`. */
export function smallest<T>(
  lists: readonly (readonly T[])[],
  k: number,
  compare: (a: T, b: T) => number,
): T[] {
  return lists.flat().sort(compare).slice(0, k);
}

export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
