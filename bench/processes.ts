/**
 * Every process the harness starts is tracked here and killed, by its own handle, when the run
 * ends or is interrupted: a benchmark leaves nothing behind.
 */
import type { Subprocess } from "bun";

const running = new Set<Subprocess>();

export function track(child: Subprocess): void {
  running.add(child);
  void child.exited.then(() => running.delete(child));
}

export function killAll(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

/** Undo steps outside any process (a Postgres database created for a run), run if the harness is interrupted. */
const cleanups = new Set<() => Promise<void>>();

/** Registers an undo step for an interrupted run; call the returned function once it was done normally. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** An interrupted harness still drops what it created, for at most this long. */
const INTERRUPT_CLEANUP_MS = 5_000;

process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAll();
    const pending = [...cleanups].map((cleanup) => cleanup().catch(() => {}));
    void Promise.race([Promise.all(pending), Bun.sleep(INTERRUPT_CLEANUP_MS)]).finally(() => process.exit(130));
  });
}
