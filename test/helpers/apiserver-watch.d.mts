// Types of apiserver-watch.mjs, list and watch for the test kube-apiserver.

/** One watch a client opened. */
export interface WatchRecord {
  /** 'pods' or 'nads'. */
  resource: string;
  /** The query string, with its "?". */
  query: string;
  /** Date.now() when it started. */
  at: number;
  /** Types of the events sent on it, in order (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). */
  events: string[];
}

export interface WatchOptions {
  /** Events kept for watches resuming from a resourceVersion (default 10000). */
  historyLimit?: number;
  /** Bookmark period for watches that allow them, ms (default 1000). */
  bookmarkIntervalMs?: number;
}

export declare class WatchHub {
  historyLimit: number;
  bookmarkIntervalMs: number;
  /** Delay before open watches get an event (a slow watch path); GETs see the change at once. Default 0. */
  deliveryDelayMs: number;
  /** Every watch started, oldest first. */
  readonly watchLog: WatchRecord[];
  /** Forgets the history and ends every open watch with an ERROR 410 Expired event: watchers must relist. */
  expire(): void;
  /** Sends a bookmark now on every open watch that allows them. */
  bookmark(): void;
  /** Ends every open watch cleanly, as a server-side timeout does. */
  closeWatches(): void;
}
