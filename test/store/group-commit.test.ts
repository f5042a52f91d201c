import { describe, expect, test } from "bun:test";
import { BrokerFailure, ErrorCodes } from "../../src/core/errors.ts";
import { GroupCommit, MAX_GROUP_ROWS } from "../../src/store/group-commit.ts";

/** A promise with its resolve and reject exposed, to play a database that answers when told. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("group commit, synchronous commit (SQLite)", () => {
  test("appends of one turn share one commit; each caller resolves after it", async () => {
    const batches: number[][] = [];
    const commits = new GroupCommit<number>((rows) => void batches.push([...rows]));
    await Promise.all([commits.add([1]), commits.add([2, 3]), commits.add([4])]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  test("at most MAX_GROUP_ROWS rows per commit, one commit per turn; a larger single add goes alone", async () => {
    const sizes: number[] = [];
    const commits = new GroupCommit<number>((rows) => void sizes.push(rows.length));
    await Promise.all([...range(2_500).map((i) => commits.add([i])), commits.add(range(MAX_GROUP_ROWS + 1))]);
    expect(sizes).toEqual([MAX_GROUP_ROWS, MAX_GROUP_ROWS, 500, MAX_GROUP_ROWS + 1]);
  });

  test("flushNow commits what waits, synchronously", () => {
    const batches: number[][] = [];
    const commits = new GroupCommit<number>((rows) => void batches.push([...rows]));
    void commits.add([1]);
    commits.flushNow();
    expect(batches).toEqual([[1]]);
  });

  test("a failed commit rejects its callers with STORE_UNAVAILABLE, without the database's parameters", async () => {
    const commits = new GroupCommit<number>(() => {
      throw new Error("Failed query: insert … params: secret", { cause: new Error("disk I/O error") });
    });
    const error = (await commits.add([1]).catch((e) => e)) as BrokerFailure;
    expect(error.error.code).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(error.message).toBe("could not store the message: disk I/O error");
  });
});

describe("group commit, asynchronous commit (Postgres)", () => {
  test("one batch in flight; what arrives meanwhile accumulates and goes next as one batch", async () => {
    const batches: number[][] = [];
    const answers = [deferred(), deferred()];
    const commits = new GroupCommit<number>((rows) => {
      batches.push([...rows]);
      return answers[batches.length - 1]!.promise;
    });
    const first = commits.add([1]);
    await Bun.sleep(1);
    const later = [commits.add([2]), commits.add([3])];
    await Bun.sleep(1);
    expect(batches).toEqual([[1]]);
    let firstDone = false;
    void first.then(() => (firstDone = true));
    answers[0]!.resolve();
    await first;
    expect(firstDone).toBe(true);
    await Bun.sleep(1);
    expect(batches).toEqual([[1], [2, 3]]);
    answers[1]!.resolve();
    await Promise.all(later);
  });

  test("an exclusive write runs alone, after what was queued before it and before what comes after", async () => {
    const log: string[] = [];
    const commits = new GroupCommit<string>(async (rows) => {
      await Bun.sleep(2);
      log.push(`rows ${rows.join(",")}`);
    });
    await Promise.all([
      commits.add(["a"]),
      commits.exclusive(async () => {
        await Bun.sleep(2);
        log.push("exclusive");
      }),
      commits.add(["b"]),
      commits.add(["c"]),
    ]);
    expect(log).toEqual(["rows a", "exclusive", "rows b,c"]);
    expect(await commits.exclusive(() => 42)).toBe(42);
  });

  test("batches are bounded by bytes as well as rows", async () => {
    const sizes: number[] = [];
    const commits = new GroupCommit<string>(async (rows) => void sizes.push(rows.length), { maxBytes: 10, sizeOf: (row) => row.length });
    await Promise.all([commits.add(["12345"]), commits.add(["12345"]), commits.add(["1"]), commits.add(["12345678901"])]);
    expect(sizes).toEqual([2, 1, 1]);
  });

  test("a caller the database does not answer in time gets STORE_UNAVAILABLE; its write keeps its place, what never started is dropped", async () => {
    const stuck = deferred();
    const started: number[][] = [];
    const commits = new GroupCommit<number>(
      (rows) => {
        started.push([...rows]);
        return started.length === 1 ? stuck.promise : Promise.resolve();
      },
      { timeoutMs: 50 },
    );
    const inFlight = commits.add([1]).catch((e) => e);
    await Bun.sleep(1);
    const queued = commits.add([2]).catch((e) => e);
    for (const error of [await inFlight, await queued]) {
      expect((error as BrokerFailure).error.code).toBe(ErrorCodes.STORE_UNAVAILABLE);
      expect((error as BrokerFailure).message).toContain("did not answer within 0.05 s");
    }
    // Nothing else started while the first write was still out.
    expect(started).toEqual([[1]]);
    stuck.resolve();
    await commits.add([3]);
    expect(started).toEqual([[1], [3]]);
  });

  test("a BrokerFailure from the commit reaches the callers as it is", async () => {
    const refusal = new BrokerFailure({ code: ErrorCodes.STORE_UNAVAILABLE, message: "another broker holds the lock" });
    const commits = new GroupCommit<number>(async () => {
      throw refusal;
    });
    expect(await commits.add([1]).catch((e) => e)).toBe(refusal);
  });
});
