/**
 * A place in a {@link Chain}: what `add` returns and `remove` takes. A class rather than an object
 * literal, so V8 never pretenures nodes (a dead node in old space would keep its query alive
 * through scavenges; docs/performance.md, "SQL", fifth pass).
 */
export class ChainNode<T> {
  constructor(
    readonly item: T,
    public prev: ChainNode<T> | undefined,
    public next: ChainNode<T> | undefined,
  ) {}
}

/**
 * A doubly linked list in insertion order: O(1) add, remove and first. Used instead of a Set for the
 * attempts a pool holds: a long-lived Set with an add and a delete per query kept the removed
 * queries (and everything their callbacks reached) alive across scavenges — about 2 KB promoted to
 * old space per query, and most of the GC time under load (docs/performance.md, "SQL"). Unlinking
 * drops every reference to the removed node at once.
 */
export class Chain<T> {
  #head: ChainNode<T> | undefined;
  #tail: ChainNode<T> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The oldest item, if any. */
  first(): T | undefined {
    return this.#head?.item;
  }

  add(item: T): ChainNode<T> {
    const node = new ChainNode(item, this.#tail, undefined);
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#size++;
    return node;
  }

  /** Unlink `node`; a node already removed is ignored. */
  remove(node: ChainNode<T>): void {
    if (node.prev === undefined && this.#head !== node) return;
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = node.next = undefined;
    this.#size--;
  }

  /** The items, oldest first, as an array (safe to use while items are removed). */
  toArray(): T[] {
    const out: T[] = [];
    for (let n = this.#head; n; n = n.next) out.push(n.item);
    return out;
  }
}
