import { statusMessage } from '../k8s/client';
import { log } from '../log';
import type { Keyed, Store } from './store';
import { streamWatch, WatchFailure, type WatchEvent, type WatchTransport } from './watch-stream';

/** What a Reflector lists and watches, and how. */
export interface ReflectorOptions<T> {
  /** For logs and metrics: "pods", "nads". */
  resource: string;
  /** The collection path, e.g. /api/v1/pods. */
  path: string;
  fieldSelector?: string;
  /** Cuts an API object down to what the store keeps. */
  slim: (obj: any) => T;
  /** Lists go through the client; watches through the transport (which holds the same client). */
  transport: WatchTransport;
  /** Called on every restart of the watch, with why: "expired" (410, relist), "closed", "error". */
  onRestart?: (reason: string) => void;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * The watch loop behind a Store: list, then watch from the list's resourceVersion with bookmarks;
 * resume from the last resourceVersion when a watch ends, relist when the server says it expired
 * (410 Gone), back off on errors. Nobody but the Store sees it.
 */
export class Reflector<T extends Keyed> {
  private stopped = false;
  private cancel = () => {};
  private resourceVersion?: string;

  constructor(private readonly store: Store<T>, private readonly opts: ReflectorOptions<T>) {}

  /** Runs until stop(). */
  async run(): Promise<void> {
    let backoff = 200;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        await this.watch();
        if (!this.stopped) this.opts.onRestart?.('closed');
        backoff = 200;
      } catch (e) {
        if (this.stopped) break;
        const expired = e instanceof WatchFailure && e.status === 410;
        if (expired) this.resourceVersion = undefined; // relist: the history we would resume from is gone
        this.opts.onRestart?.(expired ? 'expired' : 'error');
        log(expired ? 'verbose' : 'error', `${this.opts.resource}: ${(e as Error).message}${expired ? '; relisting' : `; retrying in ${backoff} ms`}`);
        if (!expired) {
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      }
    }
  }

  /** Ends the loop and the open watch. */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams({ ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}), ...extra });
    return `${this.opts.path}?${q}`;
  }

  private async list(): Promise<void> {
    const path = this.query({});
    const res = await this.opts.transport.client.call('GET', path, { retry: true });
    if (res.status !== 200) throw new Error(`list ${path}: ${statusMessage(res)}`);
    this.store.replace((res.body.items ?? []).map(this.opts.slim));
    this.resourceVersion = res.body.metadata?.resourceVersion ?? '';
    log('verbose', `${this.opts.resource}: listed ${this.store.size} at resourceVersion ${this.resourceVersion}`);
  }

  private async watch(): Promise<void> {
    // A server-side timeout of 5–10 minutes, spread so that many agents do not rewatch together (client-go's choice).
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const path = this.query({ watch: '1', allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds), resourceVersion: this.resourceVersion ?? '' });
    const { done, cancel } = streamWatch(this.opts.transport, path, (timeoutSeconds + 60) * 1000, (e) => this.apply(e));
    this.cancel = cancel;
    await done;
  }

  private apply(event: WatchEvent): void {
    const rv = event.object?.metadata?.resourceVersion;
    if (event.type === 'ADDED' || event.type === 'MODIFIED') this.store.upsert(this.opts.slim(event.object));
    else if (event.type === 'DELETED') this.store.remove(event.object);
    if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv; // bookmarks move it without an object
  }
}
