/**
 * The one suite every storage backend must pass (STYLE.md, example 10): what the Store interface
 * promises, checked through the interface only. A backend's test file calls `storeConformance`
 * with a function that opens an empty store.
 */
import { afterEach, expect, test } from "bun:test";
import fc from "fast-check";
import { BrokerFailure, ErrorCodes } from "../../src/core/errors.ts";
import type { MessageHeaders } from "../../src/core/exchanges/types.ts";
import { DEFAULT_QUEUE_ARGS, type QueueArgs } from "../../src/core/queue-args.ts";
import { messageBytes } from "../../src/core/message.ts";
import type { Snapshot, Store, StoredMessage } from "../../src/store/store.ts";

export type OpenedStore = {
  store: Store;
  /** Opens the same database again; the caller has closed `store` first. */
  reopen: () => Promise<Store>;
  /** Closes whatever is still open and removes the database. */
  cleanup: () => Promise<void>;
};

/** For the tests that write thousands of rows: a loaded CI machine must not fail them on time alone. */
const HEAVY_MS = 30_000;

const NOTHING_IN_FLIGHT: ReadonlyMap<string, readonly number[]> = new Map();

let counter = 0;
type Extras = Pick<StoredMessage, "expiresAt" | "deliverAt" | "dedupUntil"> & { body?: string; messageId?: string };

/** A message as the broker would store it; `extra` sets the body and the optional fields. */
export function stored(queue: string, seq: number, extra: Extras = {}): StoredMessage {
  const { body, messageId, ...rest } = extra;
  counter++;
  return {
    queue,
    seq,
    message: {
      id: `id-${counter}`,
      exchange: "orders",
      routingKey: `eu.${seq}`,
      headers: { seq, tag: "x" },
      body: body ?? JSON.stringify({ queue, seq }),
      timestamp: 1_700_000_000_000 + seq,
      ...(messageId === undefined ? {} : { messageId }),
    },
    ...rest,
  };
}

const withHeaders = (row: StoredMessage, headers: MessageHeaders): StoredMessage => ({ ...row, message: { ...row.message, headers } });

/** A snapshot with every stored message of its queues, read back through readMessages (by queue in byte order, then seq). */
type Loaded = Snapshot & { messages: StoredMessage[] };
const EVERYTHING = { from: 0, to: Number.MAX_SAFE_INTEGER, limit: 1_000_000, delayedAfter: Infinity } as const;
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
/** load() at the end of time (nothing is delayed past it), then every queue's messages. */
async function loadAll(store: Store): Promise<Loaded> {
  const snapshot = await store.load(Number.MAX_SAFE_INTEGER);
  const messages: StoredMessage[] = [];
  for (const name of snapshot.queues.map((q) => q.name).sort(byteOrder)) messages.push(...(await store.readMessages(name, EVERYTHING)));
  return { ...snapshot, messages };
}
const declare = async (store: Store, ...names: string[]): Promise<void> => {
  for (const name of names) await store.putQueue({ name, lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
};
const seqsOf = (snapshot: Loaded, queue: string): number[] => snapshot.messages.filter((m) => m.queue === queue).map((m) => m.seq);
const sortedBy = <T>(items: T[], key: (item: T) => string): T[] => [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function storeConformance(open: () => Promise<OpenedStore>): void {
  let opened: OpenedStore | undefined;
  /** Opens an empty store; the suite cleans it up after the test. */
  const fresh = async (): Promise<OpenedStore> => {
    opened = await open();
    return opened;
  };
  /** Closes `store` cleanly, opens the database again and loads it. */
  const reopenAndLoad = async (store: Store, inFlight = NOTHING_IN_FLIGHT): Promise<{ store: Store; snapshot: Loaded }> => {
    await store.close(inFlight);
    const again = await opened!.reopen();
    return { store: again, snapshot: await loadAll(again) };
  };

  afterEach(async () => {
    await opened?.cleanup();
    opened = undefined;
  });

  test("ping answers while the store is open, and fails once it is closed (GET /readyz)", async () => {
    const { store } = await fresh();
    await store.ping();
    await store.close(NOTHING_IN_FLIGHT);
    await expect(store.ping()).rejects.toThrow();
  });

  test("an empty database loads empty, as after a clean shutdown", async () => {
    const { store } = await fresh();
    expect(await store.load(0)).toEqual({ exchanges: [], queues: [], bindings: [], delayed: [], recentIds: [], cleanShutdown: true });
  });

  test("topology round trip: exchanges, queues with their arguments, bindings; declaring again changes nothing", async () => {
    const { store } = await fresh();
    const limited: QueueArgs = { ...DEFAULT_QUEUE_ARGS, maxLength: 10, overflow: "reject-publish", deadLetterExchange: "dlx", messageTtl: 60_000 };
    await store.putExchange({ name: "orders", kind: "direct" });
    await store.putExchange({ name: "events", kind: "topic" });
    await store.putExchange({ name: "orders", kind: "direct" });
    await store.putQueue({ name: "billing", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
    await store.putQueue({ name: "audit", lastSeq: 7, args: limited });
    await store.putBinding({ exchange: "orders", queue: "billing", key: "eu", args: {} });
    await store.putBinding({ exchange: "events", queue: "audit", key: "order.#", args: { "x-match": "any", region: "eu" } });
    await store.putBinding({ exchange: "orders", queue: "billing", key: "eu", args: {} });

    const { snapshot } = await reopenAndLoad(store);
    expect(sortedBy(snapshot.exchanges, (e) => e.name)).toEqual([
      { name: "events", kind: "topic" },
      { name: "orders", kind: "direct" },
    ]);
    const none = { count: 0, bytes: 0, firstSeq: 0, lastSeq: 0 };
    expect(sortedBy(snapshot.queues, (q) => q.name)).toEqual([
      { name: "audit", lastSeq: 7, args: limited, stored: none },
      { name: "billing", lastSeq: 0, args: DEFAULT_QUEUE_ARGS, stored: none },
    ]);
    expect(sortedBy(snapshot.bindings, (b) => b.exchange)).toEqual([
      { exchange: "events", queue: "audit", key: "order.#", args: { "x-match": "any", region: "eu" } },
      { exchange: "orders", queue: "billing", key: "eu", args: {} },
    ]);
  });

  test("append then load: messages by queue, then seq, with exact bodies, headers and optional fields", async () => {
    const { store } = await fresh();
    const bodies = ["", '"plain"', JSON.stringify({ text: "✓ naïve 日本 🎉", quote: '"', backslash: "\\", newline: "\n\t" }), "x".repeat(200_000)];
    const rows: StoredMessage[] = [
      stored("b", 2, { body: bodies[0] }),
      stored("a", 1, { body: bodies[1], expiresAt: 1_700_000_060_000 }),
      stored("b", 1, { body: bodies[2], deliverAt: 1_700_000_005_000, messageId: "m-1" }),
      stored("a", 3, { body: bodies[3] }),
      withHeaders(stored("a", 2), { n: 1.5, negative: -7, big: 2 ** 53 - 1, flag: true, off: false, none: null, empty: "", "key with spaces ✓": "v" }),
    ];
    await declare(store, "a", "b");
    await store.append(rows.slice(0, 2));
    await store.append(rows.slice(2));

    const expected = sortedBy(rows, (m) => `${m.queue}/${m.seq}`).map((m) => ({ ...m, redelivered: false, deliveries: 0 }));
    expect((await loadAll(store)).messages).toEqual(expected);
    const { snapshot } = await reopenAndLoad(store);
    expect(snapshot.messages).toEqual(expected);
  });

  test("bodies, keys and headers come back exactly, whatever their characters (property)", async () => {
    const { store } = await fresh();
    // U+0000 excepted: Postgres text cannot hold it and refuses it (see the Postgres tests).
    const text = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !s.includes("\u0000"));
    await declare(store, "q");
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(text, text, fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean()), { noNullPrototype: true }), async (body, routingKey, headers) => {
        seq++;
        const row = withHeaders(stored("q", seq, { body }), headers);
        const written: StoredMessage = { ...row, message: { ...row.message, routingKey } };
        await store.append([written]);
        const back = (await store.readMessages("q", { from: seq, to: seq, limit: 1, delayedAfter: Infinity }))[0];
        expect(back).toEqual({ ...written, redelivered: false, deliveries: 0 });
      }),
      { numRuns: 60 },
    );
  }, HEAVY_MS);

  test("group commit: many concurrent appends all resolve, and every row is there after reopening", async () => {
    const { store } = await fresh();
    const count = 3_000;
    await declare(store, "q", "x", "y", "z");
    const appends: Promise<void>[] = [];
    for (let seq = 1; seq <= count; seq++) appends.push(store.append([stored("q", seq)]));
    // One publish routed to three queues arrives as one append of three rows.
    appends.push(store.append([stored("x", 1), stored("y", 1), stored("z", 1)]));
    await Promise.all(appends);
    expect(seqsOf(await loadAll(store), "q")).toEqual(range(1, count));
    const { snapshot } = await reopenAndLoad(store);
    expect(seqsOf(snapshot, "q")).toEqual(range(1, count));
    expect(snapshot.messages.filter((m) => m.queue !== "q").map((m) => m.queue)).toEqual(["x", "y", "z"]);
  }, HEAVY_MS);

  test("an append of nothing resolves", async () => {
    const { store } = await fresh();
    await store.append([]);
    expect((await loadAll(store)).messages).toEqual([]);
  });

  test("a failed write rejects with STORE_UNAVAILABLE and does not echo what it tried to write", async () => {
    const { store } = await fresh();
    await declare(store, "q");
    await store.append([stored("q", 1)]);
    const secret = "secret-body-3f9a";
    const error = await store.append([stored("q", 1, { body: secret })]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerFailure);
    expect((error as BrokerFailure).error.code).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect((error as BrokerFailure).message).not.toContain(secret);
    // The store still works afterwards.
    await store.append([stored("q", 2)]);
    expect(seqsOf(await loadAll(store), "q")).toEqual([1, 2]);
  });

  test("purge removes every message of that queue and nothing else", async () => {
    const { store } = await fresh();
    await declare(store, "a", "b");
    await store.append([stored("a", 1), stored("a", 2), stored("b", 1)]);
    await store.purge("a");
    const snapshot = await loadAll(store);
    expect(snapshot.messages.map((m) => `${m.queue}/${m.seq}`)).toEqual(["b/1"]);
    expect(sortedBy(snapshot.queues, (q) => q.name).map((q) => [q.name, q.stored.count])).toEqual([["a", 0], ["b", 1]]);
  });

  test("deleteQueue removes the queue, its messages and its bindings, and nothing else", async () => {
    const { store } = await fresh();
    await store.putExchange({ name: "ex", kind: "fanout" });
    await store.putQueue({ name: "gone", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
    await store.putQueue({ name: "kept", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
    await store.putBinding({ exchange: "ex", queue: "gone", key: "", args: {} });
    await store.putBinding({ exchange: "ex", queue: "kept", key: "", args: {} });
    await store.append([stored("gone", 1), stored("kept", 1), stored("gone", 2)]);
    await store.deleteQueue("gone");
    const { snapshot } = await reopenAndLoad(store);
    expect(snapshot.queues.map((q) => q.name)).toEqual(["kept"]);
    expect(snapshot.bindings.map((b) => b.queue)).toEqual(["kept"]);
    expect(snapshot.messages.map((m) => `${m.queue}/${m.seq}`)).toEqual(["kept/1"]);
    expect(snapshot.exchanges.map((e) => e.name)).toEqual(["ex"]);
  });

  test("deleteExchange removes the exchange and its bindings", async () => {
    const { store } = await fresh();
    await store.putExchange({ name: "gone", kind: "direct" });
    await store.putExchange({ name: "kept", kind: "direct" });
    await store.putQueue({ name: "q", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
    await store.putBinding({ exchange: "gone", queue: "q", key: "k", args: {} });
    await store.putBinding({ exchange: "kept", queue: "q", key: "k", args: {} });
    await store.deleteExchange("gone");
    const snapshot = await loadAll(store);
    expect(snapshot.exchanges.map((e) => e.name)).toEqual(["kept"]);
    expect(snapshot.bindings.map((b) => b.exchange)).toEqual(["kept"]);
  });

  test("binding arguments are part of a binding's identity; their key order is not", async () => {
    const { store } = await fresh();
    const base = { exchange: "h", queue: "q", key: "" };
    await store.putBinding({ ...base, args: { a: 1, b: "two" } });
    await store.putBinding({ ...base, args: { b: "two", a: 1 } }); // the same binding
    await store.putBinding({ ...base, args: { a: "1", b: "two" } }); // "1" is not 1
    await store.putBinding({ ...base, args: {} });
    expect((await loadAll(store)).bindings).toHaveLength(3);
    await store.deleteBinding({ ...base, args: { b: "two", a: 1 } });
    const left = (await loadAll(store)).bindings.map((b) => b.args);
    expect(sortedBy(left, (a) => JSON.stringify(a))).toEqual([{ a: "1", b: "two" }, {}]);
  });

  test("checkpoint removes the given seq ranges, records last seqs and forgets expired recent ids", async () => {
    const { store } = await fresh();
    await store.putQueue({ name: "big", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
    await store.putQueue({ name: "small", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
    // Past any backend's delete batch size, so the batching is exercised.
    const bigCount = 25_000;
    for (let from = 1; from <= bigCount; from += 5_000) {
      await store.append(range(from, from + 4_999).map((seq) => stored("big", seq)));
    }
    await store.append([
      ...range(1, 10).map((seq) => stored("small", seq)),
      stored("other", 1, { messageId: "old", dedupUntil: 1_000 }),
      stored("other", 2, { messageId: "new", dedupUntil: 9_000 }),
    ]);
    await store.checkpoint(
      new Map([
        ["big", [[1, 12_000], [20_000, 20_010]]],
        ["small", [[3, 5]]],
      ]),
      new Map([
        ["big", 30_000],
        ["small", 10],
      ]),
      5_000,
    );
    const expectLeft = (snapshot: Loaded) => {
      expect(seqsOf(snapshot, "big")).toEqual([...range(12_001, 19_999), ...range(20_011, bigCount)]);
      expect(seqsOf(snapshot, "small")).toEqual([1, 2, 6, 7, 8, 9, 10]);
      expect(sortedBy(snapshot.queues, (q) => q.name).map((q) => [q.name, q.lastSeq])).toEqual([
        ["big", 30_000],
        ["small", 10],
      ]);
      expect(snapshot.recentIds).toEqual([{ messageId: "new", until: 9_000, id: expect.any(String) }]);
    };
    expectLeft(await loadAll(store));
    expectLeft((await reopenAndLoad(store)).snapshot);
  }, HEAVY_MS);

  test("[DEDUP-1] recent ids: stored with their messages and the id the broker gave them, the latest window wins, kept across a reopen", async () => {
    const { store } = await fresh();
    await declare(store, "a", "b");
    // One publish routed to two queues: the same id twice in one append.
    const twice = stored("a", 1, { messageId: "m-1", dedupUntil: 5_000 });
    await store.append([twice, { ...stored("b", 1), message: twice.message }]);
    const later = stored("a", 2, { messageId: "m-1", dedupUntil: 8_000 });
    const other = stored("a", 3, { messageId: "m-2", dedupUntil: 6_000 });
    await store.append([later, other]);
    await store.append([stored("a", 4, { messageId: "no-window" })]);
    const { snapshot } = await reopenAndLoad(store);
    expect(sortedBy(snapshot.recentIds, (r) => r.messageId)).toEqual([
      { messageId: "m-1", until: 8_000, id: later.message.id },
      { messageId: "m-2", until: 6_000, id: other.message.id },
    ]);
    expect(snapshot.messages.map((m) => m.message.messageId)).toEqual(["m-1", "m-1", "m-2", "no-window", "m-1"]);
  });

  test("[COUNT-1] delivery counts: recorded, never lowered, skipped for rows no longer stored, kept across a reopen", async () => {
    const { store } = await fresh();
    await declare(store, "q");
    await store.append(range(1, 3).map((seq) => stored("q", seq)));
    await store.recordDeliveries(new Map([["q", [[1, 2], [2, 1]]]]));
    await store.recordDeliveries(new Map([["q", [[1, 1], [3, 4]]], ["gone", [[9, 9]]]]));
    await store.recordDeliveries(new Map());
    const counts = (snapshot: Loaded) => snapshot.messages.map((m) => [m.seq, m.deliveries]);
    expect(counts(await loadAll(store))).toEqual([[1, 2], [2, 1], [3, 4]]);
    // A crash (no close) keeps them too: they were committed when the call resolved.
    const { snapshot } = await reopenAndLoad(store);
    expect(counts(snapshot)).toEqual([[1, 2], [2, 1], [3, 4]]);
  });

  test("[HEADERS-2] structured header values (x-death: an array of objects) come back exactly", async () => {
    const { store } = await fresh();
    const headers: MessageHeaders = {
      tenant: "acme",
      "x-death": [
        { count: 2, reason: "rejected", queue: "work", time: 1_700_000_000_123, exchange: "", "routing-keys": ["work", "ü"] },
        { count: 1, reason: "expired", queue: "wait", time: 1_700_000_000_456, exchange: "retry", "routing-keys": [] },
      ],
      nested: { list: [1, null, true, "s"], empty: {} },
    };
    await declare(store, "q");
    await store.append([withHeaders(stored("q", 1), headers)]);
    const { snapshot } = await reopenAndLoad(store);
    expect(snapshot.messages[0]?.message.headers).toEqual(headers);
  });

  test("close records a clean shutdown and marks the messages consumers held as redelivered", async () => {
    const { store } = await fresh();
    await declare(store, "q", "r");
    await loadAll(store); // as the broker does first: from here on a crash would count as one
    await store.append(range(1, 5).map((seq) => stored("q", seq)));
    await store.append([stored("r", 1)]);
    const first = await reopenAndLoad(store, new Map([["q", [2, 4]], ["r", []]]));
    expect(first.snapshot.cleanShutdown).toBe(true);
    expect(first.snapshot.messages.filter((m) => m.redelivered).map((m) => `${m.queue}/${m.seq}`)).toEqual(["q/2", "q/4"]);
    const second = await reopenAndLoad(first.store);
    expect(second.snapshot.cleanShutdown).toBe(true);
    expect(second.snapshot.messages.filter((m) => m.redelivered)).toHaveLength(2);
  });

  test("writes apply in call order, even when nobody waits in between", async () => {
    const { store } = await fresh();
    await store.putQueue({ name: "q", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
    const calls = [
      store.append([stored("q", 1), stored("q", 2)]),
      store.purge("q"),
      store.append([stored("q", 3)]),
      store.append([stored("gone", 1)]),
      store.deleteQueue("gone"),
      store.putQueue({ name: "gone", lastSeq: 0, args: DEFAULT_QUEUE_ARGS }),
      store.append([stored("gone", 1)]),
      store.checkpoint(new Map([["gone", [[1, 1]]]]), new Map([["gone", 1]]), 0),
      store.append([stored("gone", 2)]),
    ];
    await Promise.all(calls);
    const snapshot = await loadAll(store);
    expect(snapshot.messages.map((m) => `${m.queue}/${m.seq}`)).toEqual(["gone/2", "q/3"]);
    // [SEQ-1] A queue's last seq covers its stored messages too, whatever the last checkpoint recorded.
    expect(sortedBy(snapshot.queues, (q) => q.name).map((q) => [q.name, q.lastSeq])).toEqual([
      ["gone", 2],
      ["q", 3],
    ]);
  });

  test("reopen after close sees everything that was answered", async () => {
    const { store } = await fresh();
    await store.putExchange({ name: "ex", kind: "headers" });
    await store.putQueue({ name: "q", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
    await store.putBinding({ exchange: "ex", queue: "q", key: "", args: { "x-match": "all", a: "1" } });
    await Promise.all(range(1, 500).map((seq) => store.append([stored("q", seq, { messageId: `m-${seq}`, dedupUntil: 10_000 + seq })])));
    const before = await loadAll(store);
    const { snapshot } = await reopenAndLoad(store);
    expect(snapshot).toEqual(before);
  }, HEAVY_MS);

  // ---- [PAGE-1] paged queues: counted at load, read back by range --------------------------------

  test("[PAGE-1] load counts each queue's stored messages and bytes without reading them: kept through appends, removals, purges and a reopen", async () => {
    const { store } = await fresh();
    await declare(store, "big", "small", "empty");
    const big = range(1, 2_500).map((seq) => stored("big", seq, { body: "x".repeat(seq % 97) }));
    for (let i = 0; i < big.length; i += 700) await store.append(big.slice(i, i + 700));
    await store.append([stored("small", 1), stored("small", 2)]);
    const bytesOf = (rows: StoredMessage[]) => rows.reduce((n, row) => n + messageBytes(row.message), 0);
    await store.checkpoint(new Map([["big", [[1, 100], [2_000, 2_100]]]]), new Map(), 0);
    await store.purge("small");
    await store.append([stored("small", 3)]);
    const left = big.filter((row) => !(row.seq <= 100 || (row.seq >= 2_000 && row.seq <= 2_100)));
    const expectCounts = (snapshot: Snapshot) =>
      expect(sortedBy(snapshot.queues, (q) => q.name).map((q) => [q.name, q.stored])).toEqual([
        ["big", { count: left.length, bytes: bytesOf(left), firstSeq: 101, lastSeq: 2_500 }],
        ["empty", { count: 0, bytes: 0, firstSeq: 0, lastSeq: 0 }],
        ["small", { count: 1, bytes: bytesOf([stored("small", 3)]), firstSeq: 3, lastSeq: 3 }],
      ]);
    expectCounts(await store.load(0));
    expectCounts((await reopenAndLoad(store)).snapshot);
  }, HEAVY_MS);

  test("[PAGE-1] readMessages: a seq range in ascending order, at most `limit` rows, leaving out rows delayed past `delayedAfter`", async () => {
    const { store } = await fresh();
    await declare(store, "q", "other");
    await store.append([
      ...range(1, 10).map((seq) => stored("q", seq, seq === 4 ? { deliverAt: 5_000 } : seq === 6 ? { deliverAt: 1_000 } : {})),
      stored("other", 5),
    ]);
    const seqs = async (from: number, to: number, limit: number, delayedAfter: number) =>
      (await store.readMessages("q", { from, to, limit, delayedAfter })).map((m) => m.seq);
    expect(await seqs(1, 10, 100, Infinity)).toEqual(range(1, 10));
    expect(await seqs(3, 8, 100, Infinity)).toEqual(range(3, 8));
    expect(await seqs(2, 10, 3, Infinity)).toEqual([2, 3, 4]);
    // Delayed past 2,000 (seq 4): loaded as delayed, so not part of the range; seq 6 was due by then.
    expect(await seqs(1, 10, 100, 2_000)).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10]);
    expect(await seqs(11, 20, 100, Infinity)).toEqual([]);
    expect(await store.readMessages("nowhere", EVERYTHING)).toEqual([]);
    const [row] = await store.readMessages("q", { from: 4, to: 4, limit: 1, delayedAfter: Infinity });
    expect(row).toEqual({ ...stored("q", 4, { deliverAt: 5_000 }), message: row!.message, redelivered: false, deliveries: 0 });
  });

  test("[PAGE-1] load returns only the messages delayed past `now`, by queue then seq", async () => {
    const { store } = await fresh();
    await declare(store, "a", "b");
    await store.append([
      stored("b", 1, { deliverAt: 9_000 }),
      stored("a", 1, { deliverAt: 100 }),
      stored("a", 2, { deliverAt: 9_000 }),
      stored("a", 3),
    ]);
    const snapshot = await store.load(1_000);
    expect(snapshot.delayed.map((m) => `${m.queue}/${m.seq}/${m.deliverAt}`)).toEqual(["a/2/9000", "b/1/9000"]);
  });

  test("[REDELIVERED-1] after a crash every stored message reads back redelivered, still after a clean stop; later ones do not", async () => {
    const { store } = await fresh();
    await declare(store, "q");
    await store.load(0);
    await store.append(range(1, 3).map((seq) => stored("q", seq)));
    // As after a crash: the next load finds the "running" marker the first one left, no clean close.
    const after = store;
    expect((await after.load(0)).cleanShutdown).toBe(false);
    await after.append([stored("q", 4)]);
    expect((await after.readMessages("q", EVERYTHING)).map((m) => [m.seq, m.redelivered])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, false],
    ]);
    const { store: again } = await reopenAndLoad(after);
    expect((await again.readMessages("q", EVERYTHING)).map((m) => [m.seq, m.redelivered])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, false],
    ]);
  });

  test("[DLX-5] a message appended as redelivered reads back redelivered", async () => {
    const { store } = await fresh();
    await declare(store, "q");
    await store.append([{ ...stored("q", 1), redelivered: true }, stored("q", 2)]);
    expect((await store.readMessages("q", EVERYTHING)).map((m) => m.redelivered)).toEqual([true, false]);
  });

  test("[ACK-1] an \"acks\" checkpoint removes the ranges and records last seqs, and leaves recent ids to the full one", async () => {
    const { store } = await fresh();
    await declare(store, "q");
    await store.append([...range(1, 4).map((seq) => stored("q", seq)), stored("q", 5, { messageId: "old", dedupUntil: 1_000 })]);
    await store.checkpoint(new Map([["q", [[1, 2]]]]), new Map([["q", 9]]), 5_000, "acks");
    const after = await loadAll(store);
    expect(seqsOf(after, "q")).toEqual([3, 4, 5]);
    expect(after.queues.map((q) => [q.name, q.lastSeq, q.stored.count])).toEqual([["q", 9, 3]]);
    expect(after.recentIds.map((r) => r.messageId)).toEqual(["old"]);
    await store.checkpoint(new Map(), new Map(), 5_000, "full");
    expect((await loadAll(store)).recentIds).toEqual([]);
  });

  // ---- [HIST-2] durable history: what left after delivery stays, as retention allows ------------

  test("[HIST-2] retained rows: marked by a checkpoint, read back by readHistory (not by readMessages), not counted as waiting, kept by a purge", async () => {
    const { store } = await fresh();
    await declare(store, "q");
    await store.append(range(1, 6).map((seq) => stored("q", seq)));
    await store.checkpoint(new Map([["q", [[1, 1]]]]), new Map(), 0, "acks", { retains: new Map([["q", [[2, 4]]]]), retention: new Map() });
    const page = await store.readMessages("q", EVERYTHING);
    expect(page.map((m) => m.seq)).toEqual([5, 6]);
    const history = await store.readHistory("q", { from: 0, to: 100, limit: 100 });
    expect(history.rows.map((r) => [r.seq, r.retained])).toEqual([
      [2, true],
      [3, true],
      [4, true],
      [5, false],
      [6, false],
    ]);
    expect(history.rows[0]).toMatchObject({ seq: 2, message: { routingKey: "eu.2", body: JSON.stringify({ queue: "q", seq: 2 }) } });
    expect(history.floor).toBe(0);
    expect((await store.readHistory("q", { from: 3, to: 5, limit: 2 })).rows.map((r) => r.seq)).toEqual([3, 4]);
    const counted = (await store.load(0)).queues[0]!;
    expect(counted.stored).toMatchObject({ count: 2, firstSeq: 5, lastSeq: 6 });
    expect(counted.lastSeq).toBe(6);
    await store.purge("q");
    expect((await store.readHistory("q", { from: 0, to: 100, limit: 100 })).rows.map((r) => r.seq)).toEqual([2, 3, 4]);
    expect((await store.load(0)).queues[0]!.stored.count).toBe(0);
  });

  test("[HIST-2] retention drops the oldest retained rows by count, age and bytes, never waiting ones, and raises the floor; kept across a reopen", async () => {
    const { store } = await fresh();
    await declare(store, "q");
    // seq n published at 1_700_000_000_000 + n (see stored()).
    await store.append(range(1, 20).map((seq) => stored("q", seq)));
    const retains = { retains: new Map([["q", [[1, 10], [12, 20]] as [number, number][]]]), retention: new Map() };
    await store.checkpoint(new Map(), new Map(), 0, "acks", retains);
    const seqs = async () => (await store.readHistory("q", { from: 0, to: 100, limit: 100 })).rows.map((r) => r.seq);
    // Count: keep seqs above 5 only. Seq 11 waits in the queue: it stays whatever the rules.
    await store.checkpoint(new Map(), new Map(), 0, "full", { retains: new Map(), retention: new Map([["q", { keepAfter: 5 }]]) });
    expect(await seqs()).toEqual(range(6, 20));
    expect((await store.readHistory("q", { from: 0, to: 0, limit: 1 })).floor).toBe(5);
    // Age: none published before seq 9's time.
    await store.checkpoint(new Map(), new Map(), 0, "full", { retains: new Map(), retention: new Map([["q", { keepAfter: 0, publishedBefore: 1_700_000_000_009 }]]) });
    expect(await seqs()).toEqual(range(9, 20));
    expect((await store.readHistory("q", { from: 0, to: 0, limit: 1 })).floor).toBe(8);
    // Bytes: at most three rows' worth; the oldest go first, seq 11 (waiting) stays.
    const rowBytes = messageBytes(stored("q", 12).message);
    await store.checkpoint(new Map(), new Map(), 0, "full", { retains: new Map(), retention: new Map([["q", { keepAfter: 0, maxBytes: rowBytes * 3 + 10 }]]) });
    expect(await seqs()).toEqual([11, 18, 19, 20]);
    const { store: again } = await reopenAndLoad(store);
    const after = await again.readHistory("q", { from: 0, to: 100, limit: 100 });
    expect(after.rows.map((r) => [r.seq, r.retained])).toEqual([
      [11, false],
      [18, true],
      [19, true],
      [20, true],
    ]);
    expect(after.floor).toBe(17);
  });
}
