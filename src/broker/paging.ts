import type { QueueState } from "../core/queue.ts";
import type { Dispatch } from "./dispatch.ts";
import { PAGE_RETRY_MS } from "./limits.ts";
import type { BrokerState } from "./state.ts";

/** What paging did since start, for /metrics. */
export type PagingStats = { reads: number; rows: number; failures: number; maxReadMs: number };

/**
 * [PAGE-1] Reads durable queues' messages back from the store into their memory windows, one read
 * in flight per queue, as the window drains: the queue says what it wants (pageRequest), this reads
 * it and hands the rows back (pageIn), then delivery goes on.
 */
export class Paging {
  readonly stats: PagingStats = { reads: 0, rows: 0, failures: 0, maxReadMs: 0 };
  private readonly retrying = new Set<string>();

  constructor(
    private readonly state: BrokerState,
    private readonly dispatch: () => Dispatch,
  ) {}

  /** Starts the queue's next read if its window wants one; resolves once that read's rows joined the window. */
  readAhead(queue: QueueState): Promise<void> | undefined {
    if (this.state.closing || !queue.durable || this.retrying.has(queue.name)) return undefined;
    const request = queue.pageRequest();
    if (request === undefined) return undefined;
    const { deps, topology } = this.state;
    const started = performance.now();
    return deps.store.readMessages(queue.name, request).then(
      (rows) => {
        const took = performance.now() - started;
        this.stats.reads++;
        this.stats.rows += rows.length;
        if (took > this.stats.maxReadMs) this.stats.maxReadMs = took;
        if (topology.queues.get(queue.name) !== queue) return;
        const dispatch = this.dispatch();
        const now = deps.clock.now();
        dispatch.run(queue, queue.pageIn(request, rows), now);
        // Delivery reads ahead again once it has taken from the window.
        dispatch.deliverWaiting(queue);
        this.readAhead(queue);
      },
      (error) => {
        this.stats.failures++;
        queue.pageFailed(request);
        if (topology.queues.get(queue.name) !== queue || this.state.closing) return;
        deps.log?.(`reading queue "${queue.name}" from the store failed, will retry: ${error instanceof Error ? error.message : String(error)}`);
        this.retrying.add(queue.name);
        deps.scheduler.after(PAGE_RETRY_MS, () => {
          this.retrying.delete(queue.name);
          this.readAhead(queue);
        });
      },
    );
  }
}
