/**
 * A binary min-heap of (expiresAt, key, token), ties broken by push order, used by the L1 to find expired entries in
 * O(log n) (behaviour.md C1: expired entries are reclaimed before LRU eviction).
 *
 * Nodes are never removed when their entry is replaced or deleted; the owner checks a node
 * against its live entry (`token` identity) when it reaches the top and discards it if stale
 * (lazy deletion). `compact` rebuilds the heap from the live nodes when garbage piles up.
 */

/** One scheduled expiry; `token` identifies the entry version it belongs to. */
export interface ExpiryNode<T> {
  readonly expiresAt: number;
  readonly key: string;
  readonly token: T;
}

interface Slot<T> {
  readonly node: ExpiryNode<T>;
  readonly seq: number;
}

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.node.expiresAt < b.node.expiresAt || (a.node.expiresAt === b.node.expiresAt && a.seq < b.seq);
}

/** Min-heap ordered by `expiresAt`, then by push order. */
export class ExpiryHeap<T> {
  private nodes: Slot<T>[] = [];
  private seq = 0;

  /** Nodes held, live or stale. */
  get size(): number {
    return this.nodes.length;
  }

  /** The earliest node, without removing it. */
  peek(): ExpiryNode<T> | undefined {
    return this.nodes[0]?.node;
  }

  /** Adds a node. */
  push(node: ExpiryNode<T>): void {
    this.insert({ node, seq: this.seq++ });
  }

  /** Removes and returns the earliest node. */
  pop(): ExpiryNode<T> | undefined {
    const nodes = this.nodes;
    const top = nodes[0];
    const last = nodes.pop();
    if (top === undefined || last === undefined || nodes.length === 0) return top?.node;
    let i = 0;
    const n = nodes.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(nodes[right]!, nodes[left]!) ? right : left;
      if (!before(nodes[child]!, last)) break;
      nodes[i] = nodes[child]!;
      i = child;
    }
    nodes[i] = last;
    return top.node;
  }

  /** Keeps only the nodes `live` accepts, then restores the heap order. */
  compact(live: (node: ExpiryNode<T>) => boolean): void {
    const kept = this.nodes.filter((slot) => live(slot.node));
    this.nodes = [];
    for (const slot of kept) this.insert(slot);
  }

  /** Removes every node. */
  clear(): void {
    this.nodes = [];
  }

  private insert(slot: Slot<T>): void {
    const nodes = this.nodes;
    nodes.push(slot);
    let i = nodes.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(slot, nodes[parent]!)) break;
      nodes[i] = nodes[parent]!;
      i = parent;
    }
    nodes[i] = slot;
  }
}
