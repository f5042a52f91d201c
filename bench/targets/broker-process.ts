/**
 * Starts a broker executable that prints `listening on http://<host>:<port>` and answers
 * GET /ping, and stops it. Shared by pubsub and the raw relay.
 */
import type { Subprocess } from "bun";
import { track } from "../processes.ts";

/** A broker that has not said where it listens by then is broken. */
const LISTEN_TIMEOUT_MS = 15_000;
const PING_TIMEOUT_MS = 10_000;
/** A SIGTERM'd broker that has not exited by then is killed. */
const STOP_GRACE_MS = 3_000;
/** Lines of the broker's output kept for error messages. */
const KEEP_LINES = 40;
const LISTENING = /listening on http:\/\/([^\s:/]+):(\d+)/;

export type BrokerProcess = {
  readonly child: Subprocess<"ignore", "pipe", "pipe">;
  readonly host: string;
  readonly port: number;
  readonly baseUrl: string;
  /** When it was spawned (performance.now() of this process). */
  readonly spawnedAt: number;
  /** Spawn → first 200 of GET /ping, in ms. */
  readonly readyMs: number;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs` (default 3 s). */
  stop(graceMs?: number): Promise<Stopped>;
};

/** How a broker ended: SIGTERM → exit in `ms`, or killed when it took longer than it was given. */
export type Stopped = { ms: number; exitCode: number | null; killed: boolean };

/** A broker that restores a large backlog before it listens may be given longer than the defaults. */
export type LaunchTimeouts = { listenMs?: number; pingMs?: number };

export async function launchBroker(
  cmd: string[],
  env: Record<string, string>,
  name: string,
  timeouts: LaunchTimeouts = {},
): Promise<BrokerProcess> {
  const spawnedAt = performance.now();
  const child = Bun.spawn({ cmd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  track(child);
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > KEEP_LINES) output.shift();
  };
  const tail = () => output.join("\n");
  void drainLines(child.stderr, keep);
  let listening: { host: string; port: number } | null = null;
  const sawListening = drainLines(child.stdout, (line) => {
    keep(line);
    const match = LISTENING.exec(line);
    if (match && !listening) listening = { host: match[1]!, port: Number(match[2]) };
    return listening !== null;
  });
  const outcome = await Promise.race([
    sawListening.then(() => "listening" as const),
    child.exited.then(() => "exited" as const),
    Bun.sleep(timeouts.listenMs ?? LISTEN_TIMEOUT_MS).then(() => "timeout" as const),
  ]);
  const found = listening as { host: string; port: number } | null;
  if (outcome !== "listening" || !found) {
    child.kill("SIGKILL");
    throw new Error(`${name}: no "listening on" line (${outcome}); output:\n${tail()}`);
  }
  const baseUrl = `http://${found.host}:${found.port}`;
  const readyMs = await waitForPing(baseUrl, spawnedAt, child, name, tail, timeouts.pingMs ?? PING_TIMEOUT_MS);
  return {
    child,
    host: found.host,
    port: found.port,
    baseUrl,
    spawnedAt,
    readyMs,
    async stop(graceMs = STOP_GRACE_MS) {
      const signalledAt = performance.now();
      child.kill("SIGTERM");
      const ended = await Promise.race([child.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
      if (!ended) child.kill("SIGKILL");
      await child.exited;
      return { ms: performance.now() - signalledAt, exitCode: child.exitCode, killed: !ended };
    },
  };
}

async function waitForPing(
  baseUrl: string,
  spawnedAt: number,
  child: Subprocess,
  name: string,
  tail: () => string,
  timeoutMs: number,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && child.exitCode === null) {
    try {
      const answer = await fetch(`${baseUrl}/ping`);
      await answer.arrayBuffer();
      if (answer.status === 200) return performance.now() - spawnedAt;
    } catch {
      // Not accepting yet.
    }
    await Bun.sleep(1);
  }
  child.kill("SIGKILL");
  throw new Error(`${name}: GET /ping never answered 200; output:\n${tail()}`);
}

/**
 * Reads a stream line by line until it ends (so the child never blocks on a full pipe). The
 * returned promise resolves when `onLine` first returns true, or when the stream ends.
 */
function drainLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => boolean | void): Promise<void> {
  return new Promise((resolve) => {
    void (async () => {
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of stream) {
        pending += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = pending.indexOf("\n")) >= 0) {
          if (onLine(pending.slice(0, newline))) resolve();
          pending = pending.slice(newline + 1);
        }
      }
      if (pending && onLine(pending)) resolve();
      resolve();
    })();
  });
}

/** A JSON request to the broker's HTTP API that must answer 2xx; `headers` carry a credential where one is needed. */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const answer = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`${method} ${path} ${JSON.stringify(body)} → ${answer.status} ${text}`);
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** `event_loop.recent_max_stall_ms` and `max_stall_ms` from GET /metrics/json, or null when not reported. */
export async function readStall(
  baseUrl: string,
  headers: Record<string, string> = {},
): Promise<{ recentMs: number | null; maxMs: number | null } | null> {
  try {
    const metrics = (await callApi(baseUrl, "GET", "/metrics/json", undefined, headers)) as {
      event_loop?: { max_stall_ms?: unknown; recent_max_stall_ms?: unknown };
    };
    const number = (value: unknown) => (typeof value === "number" ? value : null);
    const loop = metrics?.event_loop;
    if (!loop) return null;
    return { recentMs: number(loop.recent_max_stall_ms), maxMs: number(loop.max_stall_ms) };
  } catch {
    return null;
  }
}
