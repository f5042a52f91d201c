import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_QUEUE_ARGS } from "../../src/core/queue-args.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import { removeDir, tempDir } from "../support/broker-process.ts";
import { storeConformance } from "./conformance.ts";

describe("sqlite store", () => {
  storeConformance(async () => {
    const dir = tempDir("pubsub-store-");
    const path = join(dir, "broker.db");
    const open: Store[] = [SqliteStore.open(path)];
    return {
      store: open[0]!,
      reopen: async () => {
        const store = SqliteStore.open(path);
        open.push(store);
        return store;
      },
      cleanup: async () => {
        // The last store may still be open; closing a closed one throws, which is fine here.
        await open.at(-1)!.close(new Map()).catch(() => undefined);
        removeDir(dir);
      },
    };
  });
});

describe("sqlite store, SQLite only", () => {
  const row = (seq: number) => ({
    queue: "q",
    seq,
    message: { id: `id-${seq}`, exchange: "", routingKey: "q", headers: {}, body: JSON.stringify("x".repeat(1_000)), timestamp: seq },
  });

  test("[VACUUM-1] a drained backlog's space goes back to the file system at the checkpoints that follow", async () => {
    const dir = tempDir("pubsub-vacuum-");
    const path = join(dir, "broker.db");
    try {
      const store = SqliteStore.open(path);
      await store.load(0);
      await store.putQueue({ name: "q", lastSeq: 0, args: DEFAULT_QUEUE_ARGS });
      for (let from = 1; from <= 30_000; from += 1_000) await store.append(Array.from({ length: 1_000 }, (_, i) => row(from + i)));
      await store.checkpoint(new Map(), new Map(), 0); // the WAL into the file
      const full = statSync(path).size;
      expect(full).toBeGreaterThan(30 << 20);
      await store.checkpoint(new Map([["q", [[1, 30_000]]]]), new Map([["q", 30_000]]), 0);
      // A few steps per checkpoint: a drained file shrinks over the next ones.
      for (let i = 0; i < 6; i++) await store.checkpoint(new Map(), new Map(), 0);
      await store.close(new Map());
      const drained = statSync(path).size;
      console.log(`[VACUUM-1] 30,000 × 1 KB: ${(full / 2 ** 20).toFixed(1)} MiB, drained ${(drained / 2 ** 20).toFixed(1)} MiB`);
      expect(drained).toBeLessThan(full / 4);
    } finally {
      removeDir(dir);
    }
  }, 30_000);

  test("[VACUUM-1] a database made without incremental auto-vacuum is converted when it opens", async () => {
    const dir = tempDir("pubsub-vacuum-");
    const path = join(dir, "broker.db");
    try {
      const old = new Database(path);
      old.run("PRAGMA auto_vacuum = NONE");
      old.run("CREATE TABLE t (x)");
      old.run("INSERT INTO t VALUES (1)");
      old.close();
      const store = SqliteStore.open(path);
      await store.close(new Map());
      const again = new Database(path);
      expect(again.query<{ auto_vacuum: number }, []>("PRAGMA auto_vacuum").get()?.auto_vacuum).toBe(2);
      again.close();
    } finally {
      removeDir(dir);
    }
  });
});
