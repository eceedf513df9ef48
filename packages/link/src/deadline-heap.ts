/** An entry of a {@link DeadlineHeap}: its deadline, a tie-breaking sequence number, its value. */
export interface HeapEntry<T> {
  readonly at: number;
  readonly seq: number;
  readonly value: T;
  /** Position in the heap's array, -1 once removed. Maintained by the heap. */
  index: number;
}

/**
 * A binary min-heap ordered by `(at, seq)`: the earliest deadline first and, for equal deadlines,
 * the order of insertion. That tie-break is what makes a virtual clock and the fault injector
 * deterministic. Entries know their index, so removal is O(log n) and leaves nothing behind.
 */
export class DeadlineHeap<T> {
  private readonly items: HeapEntry<T>[] = [];
  private nextSeq = 0;

  /** Number of entries. */
  get size(): number {
    return this.items.length;
  }

  /** The earliest entry without removing it. */
  peek(): HeapEntry<T> | undefined {
    return this.items[0];
  }

  /** Adds `value` due at `at`; returns its entry (a handle for {@link remove}). */
  push(at: number, value: T): HeapEntry<T> {
    const e: HeapEntry<T> = { at, seq: this.nextSeq++, value, index: this.items.length };
    this.items.push(e);
    this.up(e.index);
    return e;
  }

  /** Removes and returns the earliest entry. */
  pop(): HeapEntry<T> | undefined {
    const top = this.items[0];
    if (top) this.removeAt(0);
    return top;
  }

  /** Removes `e` if it is still in the heap; returns whether it was. */
  remove(e: HeapEntry<T>): boolean {
    if (e.index < 0 || this.items[e.index] !== e) return false;
    this.removeAt(e.index);
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    for (const e of this.items) e.index = -1;
    this.items.length = 0;
  }

  private removeAt(i: number): void {
    const items = this.items;
    const e = items[i]!;
    const last = items.pop()!;
    e.index = -1;
    if (last !== e) {
      items[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
  }

  private less(a: HeapEntry<T>, b: HeapEntry<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(i: number): void {
    const items = this.items;
    const e = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.less(e, parent)) break;
      items[i] = parent;
      parent.index = i;
      i = p;
    }
    items[i] = e;
    e.index = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.less(child, e)) break;
      items[i] = child;
      child.index = i;
      i = c;
    }
    items[i] = e;
    e.index = i;
  }
}
