import type { Binding } from "../../core/exchanges/types.ts";
import { bindingId } from "../../core/exchanges/types.ts";
import { BrokerFailure, ErrorCodes } from "../../core/errors.ts";
import { messageBytes } from "../../core/message.ts";
import { retentionCut } from "../retention.ts";
import type { CheckpointScope, DeliveryCounts, HistoryRow, HistoryWork, ReadRange, StoredHistory, RecentId, Removals, Snapshot, Store, StoredExchange, StoredMessage, StoredQueue } from "../store.ts";

/**
 * What a memory store holds; it outlives the store objects opened on it, as a database file
 * outlives its connections (so a test can close, reopen and load).
 */
export class MemoryDatabase {
  readonly exchanges = new Map<string, StoredExchange>();
  readonly queues = new Map<string, StoredQueue>();
  /** By exchange, then bindingId. */
  readonly bindings = new Map<string, Map<string, Binding>>();
  /** By queue, then seq; `retained` [HIST-2]: left after delivery, kept as history. */
  readonly messages = new Map<string, Map<number, StoredMessage & { retained?: boolean }>>();
  /** [HIST-2] Per queue, the seq retained history reaches back to after. */
  readonly historyFloor = new Map<string, number>();
  readonly recentIds = new Map<string, RecentId>();
  /** [REDELIVERED-1] Per queue, the seq up to which stored messages were there at a crash. */
  readonly redeliveredThrough = new Map<string, number>();
  /** As the meta row: undefined before any run, "false" while one runs, "true" after a clean close. */
  cleanShutdown: "true" | "false" | undefined;

  /** The stored seqs of one queue still waiting in it (not retained as history), ascending. */
  waiting(queue: string): number[] {
    return this.seqs(queue).filter((seq) => this.messages.get(queue)?.get(seq)?.retained !== true);
  }

  /** The stored seqs of one queue, ascending: waiting and retained. */
  seqs(queue: string): number[] {
    return [...(this.messages.get(queue)?.keys() ?? [])].sort((a, b) => a - b);
  }
}

/**
 * A Store in memory, for tests of the broker without a database: it passes the same conformance
 * suite as SQLite and Postgres (test/store/memory.test.ts). "Committed" means in the
 * MemoryDatabase; every method resolves after its change is there, in call order.
 */
export class MemoryStore implements Store {
  private closed = false;

  constructor(readonly database: MemoryDatabase = new MemoryDatabase()) {}

  async load(now: number): Promise<Snapshot> {
    this.open();
    const db = this.database;
    const cleanShutdown = db.cleanShutdown !== "false";
    db.cleanShutdown = "false";
    const queues = [...db.queues.values()].map((q) => {
      const all = db.seqs(q.name);
      const lastStored = all[all.length - 1] ?? 0;
      if (!cleanShutdown) db.redeliveredThrough.set(q.name, Math.max(db.redeliveredThrough.get(q.name) ?? 0, q.lastSeq, lastStored));
      const rows = db.messages.get(q.name);
      const waiting = all.filter((seq) => rows?.get(seq)?.retained !== true);
      let bytes = 0;
      for (const seq of waiting) bytes += messageBytes(rows!.get(seq)!.message);
      return { ...q, lastSeq: Math.max(q.lastSeq, lastStored), stored: { count: waiting.length, bytes, firstSeq: waiting[0] ?? 0, lastSeq: waiting.at(-1) ?? 0 } };
    });
    const delayed = queues
      .map((q) => q.name)
      .sort(compareText)
      .flatMap((queue) => db.seqs(queue).map((seq) => db.messages.get(queue)?.get(seq) as StoredMessage & { retained?: boolean }))
      .filter((m) => m.retained !== true && m.deliverAt !== undefined && m.deliverAt > now)
      .map((m) => this.asLoaded(m));
    return structuredClone({
      exchanges: [...db.exchanges.values()],
      queues,
      bindings: [...db.bindings.values()].flatMap((byId) => [...byId.values()]),
      delayed,
      recentIds: [...db.recentIds.values()],
      cleanShutdown,
    });
  }

  async readMessages(queue: string, range: ReadRange): Promise<StoredMessage[]> {
    this.open();
    const bySeq = this.database.messages.get(queue);
    if (bySeq === undefined || !this.database.queues.has(queue)) return [];
    const rows: StoredMessage[] = [];
    for (const seq of this.database.seqs(queue)) {
      if (rows.length >= range.limit || seq > range.to) break;
      const m = bySeq.get(seq)!;
      if (seq < range.from || m.retained === true || (m.deliverAt !== undefined && m.deliverAt > range.delayedAfter)) continue;
      rows.push(this.asLoaded(m));
    }
    return structuredClone(rows);
  }

  async readHistory(queue: string, range: { from: number; to: number; limit: number }): Promise<StoredHistory> {
    this.open();
    const bySeq = this.database.messages.get(queue);
    const rows: HistoryRow[] = [];
    for (const seq of this.database.seqs(queue)) {
      if (rows.length >= range.limit || seq > range.to) break;
      if (seq < range.from) continue;
      const m = bySeq!.get(seq)!;
      rows.push({ ...this.asLoaded(m), retained: m.retained === true });
    }
    return structuredClone({ rows, floor: this.database.historyFloor.get(queue) ?? 0 });
  }

  /** A row as load() and readMessages() give it: the dedup deadline lives in recentIds only. */
  private asLoaded({ dedupUntil: _, retained: __, ...row }: StoredMessage & { retained?: boolean }): StoredMessage {
    return { ...row, redelivered: row.redelivered === true || row.seq <= (this.database.redeliveredThrough.get(row.queue) ?? 0) };
  }

  async putExchange(exchange: StoredExchange): Promise<void> {
    this.open();
    this.database.exchanges.set(exchange.name, structuredClone(exchange));
  }

  async deleteExchange(name: string): Promise<void> {
    this.open();
    this.database.exchanges.delete(name);
    this.database.bindings.delete(name);
  }

  async putQueue(queue: StoredQueue): Promise<void> {
    this.open();
    if (!this.database.queues.has(queue.name)) this.database.queues.set(queue.name, structuredClone(queue));
  }

  async deleteQueue(name: string): Promise<void> {
    this.open();
    this.database.queues.delete(name);
    this.database.messages.delete(name);
    this.database.redeliveredThrough.delete(name);
    this.database.historyFloor.delete(name);
    for (const byId of this.database.bindings.values()) {
      for (const [id, binding] of byId) if (binding.queue === name) byId.delete(id);
    }
  }

  async putBinding(binding: Binding): Promise<void> {
    this.open();
    let byId = this.database.bindings.get(binding.exchange);
    if (byId === undefined) this.database.bindings.set(binding.exchange, (byId = new Map()));
    byId.set(bindingId(binding), structuredClone(binding));
  }

  async deleteBinding(binding: Binding): Promise<void> {
    this.open();
    this.database.bindings.get(binding.exchange)?.delete(bindingId(binding));
  }

  async append(messages: readonly StoredMessage[]): Promise<void> {
    this.open();
    const db = this.database;
    // All or nothing, as one transaction: a seq already stored refuses the whole batch.
    const batch = new Set<string>();
    for (const m of messages) {
      const key = `${m.queue}\u0000${m.seq}`;
      if (db.messages.get(m.queue)?.has(m.seq) || batch.has(key)) {
        throw new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: `the store refused the write: seq ${m.seq} is already stored` });
      }
      batch.add(key);
    }
    for (const m of messages) {
      let bySeq = db.messages.get(m.queue);
      if (bySeq === undefined) db.messages.set(m.queue, (bySeq = new Map()));
      bySeq.set(m.seq, structuredClone({ ...m, redelivered: m.redelivered === true, deliveries: 0 }));
      const messageId = m.message.messageId;
      if (messageId !== undefined && m.dedupUntil !== undefined) {
        db.recentIds.delete(messageId);
        db.recentIds.set(messageId, { messageId, until: m.dedupUntil, id: m.message.id });
      }
    }
  }

  async recordDeliveries(counts: DeliveryCounts): Promise<void> {
    this.open();
    for (const [queue, pairs] of counts) {
      const bySeq = this.database.messages.get(queue);
      for (const [seq, deliveries] of pairs) {
        const m = bySeq?.get(seq);
        if (m !== undefined && deliveries > (m.deliveries ?? 0)) bySeq?.set(seq, { ...m, deliveries });
      }
    }
  }

  async purge(queue: string): Promise<void> {
    this.open();
    const bySeq = this.database.messages.get(queue);
    for (const [seq, m] of bySeq ?? []) if (m.retained !== true) bySeq!.delete(seq);
  }

  async checkpoint(removals: Removals, lastSeqs: ReadonlyMap<string, number>, now: number, scope: CheckpointScope = "full", history?: HistoryWork): Promise<void> {
    this.open();
    const db = this.database;
    const inRanges = (seq: number, ranges: ReadonlyArray<readonly [number, number]>) => ranges.some(([from, to]) => seq >= from && seq <= to);
    for (const [queue, ranges] of removals) {
      const bySeq = db.messages.get(queue);
      if (bySeq === undefined) continue;
      for (const [seq, m] of [...bySeq]) if (m.retained !== true && inRanges(seq, ranges)) bySeq.delete(seq);
    }
    for (const [queue, ranges] of history?.retains ?? []) {
      const bySeq = db.messages.get(queue);
      for (const [seq, m] of [...(bySeq ?? [])]) if (inRanges(seq, ranges)) bySeq!.set(seq, { ...m, retained: true });
    }
    if (scope === "full") {
      for (const [queue, retention] of history?.retention ?? []) {
        if (!db.queues.has(queue)) continue;
        const bySeq = db.messages.get(queue);
        const retained = db.seqs(queue).map((seq) => bySeq!.get(seq)!).filter((m) => m.retained === true);
        const rows = retained.map((m) => ({ seq: m.seq, publishedAt: m.message.timestamp, bytes: messageBytes(m.message) }));
        const cut = retentionCut(rows, rows.reduce((n, r) => n + r.bytes, 0), retention);
        for (const row of rows.slice(0, cut.count)) bySeq!.delete(row.seq);
        db.historyFloor.set(queue, Math.max(db.historyFloor.get(queue) ?? 0, retention.keepAfter, cut.last));
      }
    }
    for (const [name, lastSeq] of lastSeqs) {
      const queue = db.queues.get(name);
      if (queue !== undefined) db.queues.set(name, { ...queue, lastSeq });
    }
    if (scope === "full") for (const [messageId, recent] of db.recentIds) if (recent.until <= now) db.recentIds.delete(messageId);
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error("the store is closed");
  }

  async close(inFlight: ReadonlyMap<string, readonly number[]>): Promise<void> {
    this.open();
    for (const [queue, seqs] of inFlight) {
      const bySeq = this.database.messages.get(queue);
      for (const seq of seqs) {
        const m = bySeq?.get(seq);
        if (m !== undefined) bySeq?.set(seq, { ...m, redelivered: true });
      }
    }
    this.database.cleanShutdown = "true";
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: "the store is closed" });
  }
}

/** Byte order of UTF-8, as SQLite's BINARY collation and Postgres' "C" compare names. */
const compareText = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
