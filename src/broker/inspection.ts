import { deathsOf } from "../core/dead-letter.ts";
import { fail, ErrorCodes, ok, type Result } from "../core/errors.ts";
import { messageBytes } from "../core/message.ts";
import type { Entry, QueueState } from "../core/queue.ts";
import { MOVE_BATCH, MOVE_COMMIT_WAIT_MS, MOVE_COMMIT_WAITS, MOVE_SET_ASIDE_BYTES, MOVE_SET_ASIDE_MESSAGES } from "./limits.ts";
import type { Paging } from "./paging.ts";
import type { Publishing } from "./publishing.ts";
import type { BrokerState } from "./state.ts";
import { messageView, type MessageView } from "./views.ts";

export type PeekResult = { messages: MessageView[]; next_after: number | null };
export type MoveRequest = { to?: string; seqs?: readonly number[] };
export type MoveResult = { moved: number; skipped: number };

/**
 * The management API's look into queues: peek (reads, changes nothing: not the order, not the
 * delivery counts, not what is on disk) and move (a dead-letter queue's messages back where they
 * died, or into a chosen queue).
 */
export class Inspection {
  constructor(
    private readonly state: BrokerState,
    private readonly publishing: Publishing,
    private readonly pager: Paging,
  ) {}

  /** Up to `limit` messages after seq `after`, in seq order: from memory, and [PAGE-1] from the store for what waits on disk. */
  async peek(name: string, after: number, limit: number): Promise<Result<PeekResult>> {
    const queue = this.state.topology.queues.get(name);
    if (queue === undefined) return fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
    const { entries, disk } = queue.inspect(after, limit);
    const views = entries.map(({ entry, state }) => messageView(entry.seq, entry.message, { state, redelivered: entry.redelivered, deliveries: entry.deliveries, deliverAt: entry.deliverAt, expiresAt: entry.expiresAt, bytes: entry.bytes }));
    let wanted = limit;
    for (const range of disk) {
      if (wanted <= 0) break;
      // Nothing on disk below what memory already filled the page with is needed.
      if (views.length >= limit && range.from > views[views.length - 1]!.seq) break;
      const rows = await this.state.deps.store.readMessages(name, { ...range, limit: wanted });
      for (const row of rows) {
        views.push(messageView(row.seq, row.message, { state: "ready", redelivered: row.redelivered === true, deliveries: row.deliveries ?? 0, deliverAt: row.deliverAt, expiresAt: row.expiresAt, bytes: messageBytes(row.message) }));
      }
      wanted -= rows.length;
    }
    views.sort((a, b) => a.seq - b.seq);
    if (views.length > limit) views.length = limit;
    const last = views[views.length - 1];
    return ok({ messages: views, next_after: views.length === limit && last !== undefined ? last.seq : null });
  }

  /**
   * Moves ready messages out of `name`: into `to`, or each into the queue it last died in (its
   * x-death record). All of them present now, or those with the given seqs. Each copy is stored in
   * its target before the original leaves (a crash in between repeats it, never loses it). Skipped:
   * messages with no target (no death record, queue gone, full), or not ready (held by a consumer, delayed).
   */
  async move(name: string, request: MoveRequest): Promise<Result<MoveResult>> {
    const { topology } = this.state;
    const source = topology.queues.get(name);
    if (source === undefined) return fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${name}" does not exist`);
    if (request.to !== undefined) {
      if (request.to === name) return fail(ErrorCodes.VALIDATION, "a queue's messages cannot be moved into itself");
      if (!topology.queues.has(request.to)) return fail(ErrorCodes.QUEUE_NOT_FOUND, `queue "${request.to}" does not exist`);
    }
    const selected = request.seqs === undefined ? undefined : new Set(request.seqs);
    // Only what is there now: a move into a queue that dead-letters back here cannot run forever.
    const through = source.lastSeq;
    const refused = new Set<number>();
    const targetOf = (entry: Entry): QueueState | undefined => {
      const target = request.to ?? deathsOf(entry.message.headers)[0]?.queue;
      if (target === undefined || target === name) return undefined;
      return topology.queues.get(target);
    };
    const pick = (entry: Entry) => entry.seq <= through && !refused.has(entry.seq) && (selected === undefined || selected.has(entry.seq)) && targetOf(entry) !== undefined;
    let moved = 0;
    let commitWaits = 0;
    let failure: unknown;
    const aside = new SetAside(source);
    try {
      for (;;) {
        if (topology.queues.get(name) !== source) break;
        const batch = source.takeForMove(pick, MOVE_BATCH);
        if (batch.length === 0 && source.awaitsCommit(through) && commitWaits++ < MOVE_COMMIT_WAITS) {
          // Dead-lettered copies are stored a moment after they were counted in: wait for them.
          await new Promise<void>((resolve) => this.state.deps.scheduler.after(MOVE_COMMIT_WAIT_MS, resolve));
          continue;
        }
        if (batch.length === 0) {
          // [PAGE-1] The rest may be on disk: read the next page in, and stop once nothing more comes.
          // [MOVE-3] A window full of messages this move leaves reads nothing more: set them aside first.
          if (source.pagedOut > 0 && !aside.take((entry) => entry.seq <= through)) break;
          const before = source.depth - source.pagedOut;
          await this.pager.readAhead(source);
          if (source.depth - source.pagedOut === before) break;
          continue;
        }
        const now = this.state.deps.clock.now();
        const stored = await Promise.allSettled(batch.map((entry) => {
          const target = targetOf(entry);
          return target === undefined ? Promise.resolve(false) : this.publishing.copyInto(target, entry.message, now);
        }));
        const done: Entry[] = [];
        const back: Entry[] = [];
        stored.forEach((result, i) => {
          const entry = batch[i]!;
          if (result.status === "fulfilled" && result.value) done.push(entry);
          else {
            back.push(entry);
            refused.add(entry.seq);
            if (result.status === "rejected") failure ??= result.reason;
          }
        });
        source.finishMove(done);
        source.returnMoved(back);
        moved += done.length;
        if (failure !== undefined) break;
      }
    } finally {
      aside.giveBack();
    }
    if (failure !== undefined) {
      const reason = failure instanceof Error ? failure.message : String(failure);
      this.state.deps.log?.(`moving messages out of queue "${name}" failed after ${moved}: ${reason}`);
      return fail(ErrorCodes.STORE_UNAVAILABLE, `moving failed after ${moved} messages: ${reason}`);
    }
    const selectedCount = selected?.size;
    return ok({ moved, skipped: selectedCount === undefined ? this.unmovable(source, through) : Math.max(0, selectedCount - moved) });
  }

  /** Messages up to `through` still waiting in the queue after a move of all: those it could not move. */
  private unmovable(source: QueueState, through: number): number {
    let n = 0;
    for (const { entry } of source.inspect(0, Number.MAX_SAFE_INTEGER).entries) if (entry.seq <= through) n++;
    return n + source.pagedOut;
  }
}

/**
 * [MOVE-3] The messages a move leaves, taken out of the window so it can read on past them (they
 * wait in the store meanwhile, as the moved ones' copies do), and given back in order at the end.
 * A purge or a delete of the queue meanwhile drops them as it dropped the rest.
 */
class SetAside {
  private readonly entries: Entry[] = [];
  private bytes = 0;
  private readonly purges: number;

  constructor(private readonly queue: QueueState) {
    this.purges = queue.purges;
  }

  /** Sets aside the window's ready messages up to the bound; false once the bound is reached. */
  take(within: (entry: Entry) => boolean): boolean {
    if (this.entries.length >= MOVE_SET_ASIDE_MESSAGES || this.bytes >= MOVE_SET_ASIDE_BYTES) return false;
    const taken = this.queue.takeForMove(within, MOVE_SET_ASIDE_MESSAGES - this.entries.length);
    for (const entry of taken) {
      this.entries.push(entry);
      this.bytes += entry.bytes;
    }
    return true;
  }

  giveBack(): void {
    if (this.entries.length === 0) return;
    if (this.queue.purges !== this.purges) this.queue.finishMove(this.entries);
    else this.queue.returnMoved(this.entries);
    this.entries.length = 0;
  }
}
