/** The load process's side of the IPC channel (Bun.spawn's `ipc`). */
import type { FromLoad, ToLoad } from "./messages.ts";

export function tell(message: FromLoad): void {
  process.send?.(message);
}

const listeners = new Set<(message: ToLoad) => void>();
process.on("message", (message) => {
  for (const listener of listeners) listener(message as ToLoad);
});

export function onMessage(listener: (message: ToLoad) => void): void {
  listeners.add(listener);
}

export function nextMessage<K extends ToLoad["kind"]>(kind: K): Promise<Extract<ToLoad, { kind: K }>> {
  return new Promise((resolve) => {
    const listener = (message: ToLoad) => {
      if (message.kind !== kind) return;
      listeners.delete(listener);
      resolve(message as Extract<ToLoad, { kind: K }>);
    };
    listeners.add(listener);
  });
}

/** Exits the process after `ms` whatever happens: no load loop outlives its run. */
export function exitAfter(ms: number): void {
  setTimeout(() => {
    console.error(`load process ${process.pid}: deadline of ${ms} ms reached, exiting`);
    process.exit(3);
  }, ms).unref();
}

/** Reports a setup failure and exits. */
export function fail(error: unknown): never {
  tell({ kind: "failed", message: error instanceof Error ? error.message : String(error) });
  // Let the IPC message leave before exiting.
  setTimeout(() => process.exit(1), 50);
  throw error;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
