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
  /** [MOVE-2] The read in flight per queue: a caller that must wait for the window (a move of all) gets it. */
  private readonly inFlight = new WeakMap<QueueState, Promise<void>>();

  constructor(
    private readonly state: BrokerState,
    private readonly dispatch: () => Dispatch,
  ) {}

  /**
   * Starts the queue's next read if its window wants one; resolves once that read's rows joined the
   * window. With a read already in flight, that read's promise [MOVE-2]: a move of all that found
   * nothing to start took the queue for drained while rows were on their way, and skipped them.
   */
  readAhead(queue: QueueState): Promise<void> | undefined {
    if (this.state.closing || !queue.durable || this.retrying.has(queue.name)) return undefined;
    const running = this.inFlight.get(queue);
    if (running !== undefined) return running;
    const request = queue.pageRequest();
    if (request === undefined) return undefined;
    const { deps, topology } = this.state;
    const started = performance.now();
    const read = deps.store.readMessages(queue.name, request).then(
      (rows) => {
        this.inFlight.delete(queue);
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
        this.inFlight.delete(queue);
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
    this.inFlight.set(queue, read);
    return read;
  }
}
