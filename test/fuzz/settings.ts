/**
 * One seed for the whole fuzz run, printed first so a failure can be replayed:
 *   FUZZ_SEED=<seed> bun test --timeout 120000 test/fuzz/            (same cases, same order)
 *   FUZZ_SEED=<seed> FUZZ_PATH=<path> bun test test/fuzz/ -t '<property>'   (just the shrunk case)
 * FUZZ_RUNS caps the cases per property; FUZZ_BUDGET_MS scales every property's time budget.
 */
import fc from "fast-check";

const numberFromEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
};

export const seed = numberFromEnv("FUZZ_SEED", (Date.now() ^ (Math.random() * 0x7fffffff)) | 0);
/** Cases per property unless its time budget runs out first (it usually does, on purpose). */
export const maxRuns = numberFromEnv("FUZZ_RUNS", 100_000);
/**
 * What all properties of test/fuzz may spend together; each gets a share (the shares add up to
 * 1). Broker start-ups, health checks and the regressions come on top: about 60 s in all.
 */
export const totalBudgetMs = numberFromEnv("FUZZ_BUDGET_MS", 45_000);
const path = process.env.FUZZ_PATH;

/** Every answer, HTTP or WebSocket, comes within this (hostile input included): a property, not a benchmark. */
export const ANSWER_BOUND_MS = 2_000;
/**
 * The worst event-loop stall the broker may report after a batch of hostile input. Generous: on a
 * shared 2-core machine a starved but idle broker reports 100-270 ms; the defects it is for stalled
 * 1.6 to 10 s.
 */
export const STALL_BOUND_MS = 500;
/** A case slower than this is logged (`fuzz slow case`), to name the likely cause of a stall. */
export const SLOW_CASE_MS = 200;
/** Peak resident memory of the broker after the whole run (idle it is ~50-80 MB). */
export const RSS_BOUND_BYTES = 512 * 1024 * 1024;

console.log("fuzz seed", seed, `(replay: FUZZ_SEED=${seed}; runs ≤ ${maxRuns}, budget ${totalBudgetMs} ms)`);

export type CaseCount = { property: string; cases: number; ms: number };
export const caseCounts: CaseCount[] = [];

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text);

/**
 * Checks a property with the run's seed, at most `maxRuns` cases and `share` of the total budget
 * (shrinking included), and logs how many cases ran, also when it fails. A failure names the seed
 * and path that replay it, and the shrunk counterexample clipped (a depth bomb prints 600 KB).
 */
export async function fuzz<T>(
  property: string,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void>,
  share: number,
  runs = maxRuns,
): Promise<void> {
  let cases = 0;
  const started = performance.now();
  const budget = Math.max(500, Math.round(totalBudgetMs * share));
  let details: fc.RunDetails<[T]>;
  // fast-check stops waiting for the case in flight when the budget runs out; it must not run on
  // into the next property (or the health check), so it is awaited here.
  let inFlight: Promise<unknown> = Promise.resolve();
  try {
    details = await fc.check(
      fc.asyncProperty(arbitrary, async (value) => {
        cases++;
        const run = predicate(value);
        inFlight = run.catch(() => undefined);
        await run;
      }),
      { seed, numRuns: Math.min(runs, maxRuns), interruptAfterTimeLimit: budget, ...(path ? { path } : {}) },
    );
    await Promise.race([inFlight, Bun.sleep(3 * ANSWER_BOUND_MS)]);
  } finally {
    const ms = Math.round(performance.now() - started);
    caseCounts.push({ property, cases, ms });
    console.log(`fuzz ${property}: ${cases} cases in ${ms} ms (budget ${budget} ms)`);
  }
  if (details.failed) {
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `fuzz property "${property}" failed after ${details.numRuns} cases, shrunk ${details.numShrinks} times\n` +
        `  replay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} (with -t on this test)\n` +
        `  counterexample: ${clip(fc.stringify(details.counterexample), 1_000)}\n  ${clip(error, 3_000)}`,
    );
  }
  if (details.numRuns === 0) {
    throw new Error(`fuzz property "${property}": not one case finished within ${budget} ms (seed ${seed}); the broker did not answer the first one`);
  }
}
