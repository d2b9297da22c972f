/**
 * Items in the order they were last used, least recent first: moving one to the end and
 * removing one are O(1), and walking from the front visits live items only. (A Map kept in
 * insertion order does the same on paper, but its deleted entries stay in the table until it
 * is rehashed, and a walk from the front steps over all of them: with thousands of instances
 * activated and passivated, that walk was the keyed host's hottest loop.)
 */
export class RecencyList<T> {
  private readonly nodes = new Map<T, Link<T>>();
  private head: Link<T> | undefined;
  private tail: Link<T> | undefined;

  get size(): number {
    return this.nodes.size;
  }

  /** Puts `item` last (most recently used), adding it if it is not in the list. */
  touch(item: T): void {
    const link = this.nodes.get(item);
    if (link !== undefined) {
      if (link === this.tail) return;
      this.unlink(link);
      this.append(link);
      return;
    }
    const created: Link<T> = { item, prev: undefined, next: undefined };
    this.nodes.set(item, created);
    this.append(created);
  }

  delete(item: T): void {
    const link = this.nodes.get(item);
    if (link === undefined) return;
    this.nodes.delete(item);
    this.unlink(link);
  }

  /** The least recently used item. */
  first(): T | undefined {
    return this.head?.item;
  }

  has(item: T): boolean {
    return this.nodes.has(item);
  }

  /** Least recently used first. Deleting the current item while walking is safe. */
  *[Symbol.iterator](): Iterator<T> {
    let link = this.head;
    while (link !== undefined) {
      const next = link.next;
      yield link.item;
      link = next;
    }
  }

  private append(link: Link<T>): void {
    link.prev = this.tail;
    link.next = undefined;
    if (this.tail === undefined) this.head = link;
    else this.tail.next = link;
    this.tail = link;
  }

  private unlink(link: Link<T>): void {
    if (link.prev === undefined) this.head = link.next;
    else link.prev.next = link.next;
    if (link.next === undefined) this.tail = link.prev;
    else link.next.prev = link.prev;
    link.prev = undefined;
    link.next = undefined;
  }
}

interface Link<T> {
  readonly item: T;
  prev: Link<T> | undefined;
  next: Link<T> | undefined;
}
