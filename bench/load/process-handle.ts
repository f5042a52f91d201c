/** The orchestrator's side of one load process: spawn, talk over IPC, wait for answers. */
import type { Subprocess } from "bun";
import { track } from "../processes.ts";
import type { FromLoad, ToLoad } from "./messages.ts";

const ENTRIES = {
  "confirmed-publish": new URL("./confirmed-publish-process.ts", import.meta.url).pathname,
  "fanout-publisher": new URL("./fanout-publisher-process.ts", import.meta.url).pathname,
  subscribers: new URL("./subscribers-process.ts", import.meta.url).pathname,
  consumers: new URL("./consumers-process.ts", import.meta.url).pathname,
  "latency-publisher": new URL("./latency-publisher-process.ts", import.meta.url).pathname,
  "idle-subscribers": new URL("./idle-subscribers-process.ts", import.meta.url).pathname,
  connect: new URL("./connect-process.ts", import.meta.url).pathname,
} as const;

export type LoadRole = keyof typeof ENTRIES;

/** Owns one child `bun` process. */
export class LoadProcess {
  private readonly listeners = new Set<(message: FromLoad) => void>();
  private readonly child: Subprocess;
  failure: string | null = null;

  constructor(readonly role: LoadRole) {
    this.child = Bun.spawn({
      cmd: [process.execPath, ENTRIES[role]],
      stdio: ["ignore", "inherit", "inherit"],
      ipc: (message) => {
        const fromLoad = message as FromLoad;
        if (fromLoad.kind === "failed") this.failure = fromLoad.message;
        for (const listener of this.listeners) listener(fromLoad);
      },
    });
    track(this.child);
  }

  get pid(): number {
    return this.child.pid;
  }

  send(message: ToLoad): void {
    if (this.child.exitCode !== null) return;
    try {
      this.child.send(message);
    } catch {
      // The process is exiting (its IPC channel closed first): it no longer needs to hear anything.
    }
  }

  onMessage(listener: (message: FromLoad) => void): void {
    this.listeners.add(listener);
  }

  /** The next message of `kind`; rejects on a `failed` message, an exit or the timeout. */
  next<K extends FromLoad["kind"]>(kind: K, timeoutMs: number): Promise<Extract<FromLoad, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (message: FromLoad) => {
        if (message.kind === kind) {
          done();
          resolve(message as Extract<FromLoad, { kind: K }>);
        } else if (message.kind === "failed") {
          done();
          reject(new Error(`${this.role} process: ${message.message}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.role} process: no "${kind}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(listener);
      void this.child.exited.then((code) => {
        // Give a message sent just before exiting the chance to arrive first.
        setTimeout(() => {
          if (!this.listeners.has(listener)) return;
          done();
          reject(new Error(`${this.role} process exited (${code}) before "${kind}"${this.failure ? `: ${this.failure}` : ""}`));
        }, 100);
      });
    });
  }

  /** Waits for the process to end by itself, then kills it. */
  async finish(graceMs = 2_000): Promise<void> {
    const exited = await Promise.race([this.child.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!exited) this.child.kill();
    await this.child.exited;
  }
}
