import { describe } from "bun:test";
import { join } from "node:path";
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
