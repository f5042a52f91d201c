import { describe } from "bun:test";
import { MemoryDatabase, MemoryStore } from "../../src/store/memory/memory-store.ts";
import { storeConformance } from "./conformance.ts";

describe("memory store", () => {
  storeConformance(async () => {
    const database = new MemoryDatabase();
    return {
      store: new MemoryStore(database),
      reopen: async () => new MemoryStore(database),
      cleanup: async () => undefined,
    };
  });
});
