import type { Binding } from "../../core/exchanges/types.ts";
import { bindingId } from "../../core/exchanges/types.ts";
import { BrokerFailure, ErrorCodes } from "../../core/errors.ts";
import { messageBytes } from "../../core/message.ts";
import type { CheckpointScope, DeliveryCounts, ReadRange, RecentId, Removals, Snapshot, Store, StoredExchange, StoredMessage, StoredQueue } from "../store.ts";

/**
 * What a memory store holds; it outlives the store objects opened on it, as a database file
 * outlives its connections (so a test can close, reopen and load).
 */
export class MemoryDatabase {
  readonly exchanges = new Map<string, StoredExchange>();
  readonly queues = new Map<string, StoredQueue>();
  /** By exchange, then bindingId. */
  readonly bindings = new Map<string, Map<string, Binding>>();
  /** By queue, then seq. */
  readonly messages = new Map<string, Map<number, StoredMessage>>();
  readonly recentIds = new Map<string, RecentId>();
  /** [REDELIVERED-1] Per queue, the seq up to which stored messages were there at a crash. */
  readonly redeliveredThrough = new Map<string, number>();
  /** As the meta row: undefined before any run, "false" while one runs, "true" after a clean close. */
  cleanShutdown: "true" | "false" | undefined;

  /** The stored seqs of one queue, ascending. */
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
      const seqs = db.seqs(q.name);
      const lastStored = seqs[seqs.length - 1] ?? 0;
      if (!cleanShutdown) db.redeliveredThrough.set(q.name, Math.max(db.redeliveredThrough.get(q.name) ?? 0, q.lastSeq, lastStored));
      const rows = db.messages.get(q.name);
      let bytes = 0;
      for (const row of rows?.values() ?? []) bytes += messageBytes(row.message);
      return { ...q, lastSeq: Math.max(q.lastSeq, lastStored), stored: { count: seqs.length, bytes, firstSeq: seqs[0] ?? 0, lastSeq: lastStored } };
    });
    const delayed = queues
      .map((q) => q.name)
      .sort(compareText)
      .flatMap((queue) => db.seqs(queue).map((seq) => db.messages.get(queue)?.get(seq) as StoredMessage))
      .filter((m) => m.deliverAt !== undefined && m.deliverAt > now)
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
      if (seq < range.from || (m.deliverAt !== undefined && m.deliverAt > range.delayedAfter)) continue;
      rows.push(this.asLoaded(m));
    }
    return structuredClone(rows);
  }

  /** A row as load() and readMessages() give it: the dedup deadline lives in recentIds only. */
  private asLoaded({ dedupUntil: _, ...row }: StoredMessage): StoredMessage {
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
    this.database.messages.delete(queue);
  }

  async checkpoint(removals: Removals, lastSeqs: ReadonlyMap<string, number>, now: number, scope: CheckpointScope = "full"): Promise<void> {
    this.open();
    const db = this.database;
    for (const [queue, ranges] of removals) {
      const bySeq = db.messages.get(queue);
      if (bySeq === undefined) continue;
      for (const seq of [...bySeq.keys()]) if (ranges.some(([from, to]) => seq >= from && seq <= to)) bySeq.delete(seq);
    }
    for (const [name, lastSeq] of lastSeqs) {
      const queue = db.queues.get(name);
      if (queue !== undefined) db.queues.set(name, { ...queue, lastSeq });
    }
    if (scope === "full") for (const [messageId, recent] of db.recentIds) if (recent.until <= now) db.recentIds.delete(messageId);
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
