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

process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
