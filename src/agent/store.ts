// The informer/lister split: a Store answers reads and tells subscribers about changes; only its
// Reflector (the watch loop) writes to it, through the methods Lister does not expose.

/** An object the store can key: namespace/name. */
export interface Keyed { metadata: { namespace: string; name: string; resourceVersion?: string } }

/** A change the store applied. */
export interface CacheEvent<T> {
  type: 'added' | 'updated' | 'deleted';
  key: string;
  /** The object after the change (the last known one for 'deleted'). */
  object: T;
  /** The object before the change ('updated'). */
  old?: T;
}

/** The read side of a Store: what the socket server, metrics and reconcilers see. */
export interface Lister<T> {
  /** The cached object, or undefined when the cache has not seen it. */
  get(namespace: string, name: string): T | undefined;
  /** Every cached object. */
  list(): T[];
  /** Objects cached. */
  readonly size: number;
  /** True once the first list has been stored. */
  readonly synced: boolean;
  /** Calls `fn` after every change (a relist reports only what differs); returns the unsubscribe function. */
  subscribe(fn: (event: CacheEvent<T>) => void): () => void;
}

const keyOf = (o: Keyed) => `${o.metadata.namespace}/${o.metadata.name}`;

/** An in-memory cache of one resource, written by its watch loop. */
export class Store<T extends Keyed> implements Lister<T> {
  private readonly items = new Map<string, T>();
  private readonly subscribers = new Set<(event: CacheEvent<T>) => void>();
  synced = false;

  /** See Lister.get. */
  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }

  /** See Lister.list. */
  list(): T[] {
    return [...this.items.values()];
  }

  /** See Lister.size. */
  get size(): number {
    return this.items.size;
  }

  /** See Lister.subscribe. */
  subscribe(fn: (event: CacheEvent<T>) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Replaces the contents with a fresh list, telling subscribers what was added, changed or deleted. */
  replace(objects: T[]): void {
    const next = new Map(objects.map((o) => [keyOf(o), o]));
    for (const [key, old] of this.items) if (!next.has(key)) this.remove(old);
    for (const o of next.values()) {
      const old = this.items.get(keyOf(o));
      if (!old || old.metadata.resourceVersion !== o.metadata.resourceVersion) this.upsert(o);
    }
    this.synced = true;
  }

  /** Adds or replaces one object. */
  upsert(object: T): void {
    const key = keyOf(object);
    const old = this.items.get(key);
    this.items.set(key, object);
    this.notify(old ? { type: 'updated', key, object, old } : { type: 'added', key, object });
  }

  /** Removes one object (no-op when it is not cached). */
  remove(object: Keyed): void {
    const key = keyOf(object);
    const old = this.items.get(key);
    if (!old) return;
    this.items.delete(key);
    this.notify({ type: 'deleted', key, object: old });
  }

  private notify(event: CacheEvent<T>): void {
    for (const fn of this.subscribers) fn(event);
  }
}
