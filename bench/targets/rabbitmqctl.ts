/**
 * Restarting the RabbitMQ service already running here (scenario 10): `rabbitmqctl stop_app` and
 * `start_app` stop and start the RabbitMQ application inside its Erlang VM, which stays up. Needs
 * the node's Erlang cookie (root, or the rabbitmq user); without it the restart is not measured.
 */
import { onInterrupt, track } from "../processes.ts";

/** The CLI boots its own Erlang VM (~0.5 s) and then asks the node; a node that answers nothing by then is stuck. */
const PING_TIMEOUT_MS = 30_000;
/** stop_app flushes every queue to disk first; a million messages take a while. */
export const STOP_APP_TIMEOUT_MS = 300_000;
/** start_app recovers every durable queue from disk before it returns. */
export const START_APP_TIMEOUT_MS = 600_000;

export type CliResult = { code: number | null; output: string; ms: number };

/** `rabbitmqctl <args>`, its exit code and output, killed after `timeoutMs`. */
export async function rabbitmqctl(args: string[], timeoutMs: number): Promise<CliResult> {
  const startedAt = performance.now();
  const cli = Bun.spawn({ cmd: ["rabbitmqctl", ...args], stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
  track(cli);
  const [code, out, err] = await Promise.all([cli.exited, new Response(cli.stdout).text(), new Response(cli.stderr).text()]);
  const output = `${out}\n${err}`.trim().split("\n").slice(-3).join(" / ").slice(0, 300);
  return { code, output, ms: performance.now() - startedAt };
}

/** Null when `rabbitmqctl` can talk to the node; otherwise why not. Also how long the CLI alone takes. */
export async function controlAvailable(): Promise<{ problem: string | null; cliMs: number }> {
  if (!Bun.which("rabbitmqctl")) return { problem: "rabbitmqctl is not installed here", cliMs: 0 };
  const ping = await rabbitmqctl(["ping"], PING_TIMEOUT_MS);
  if (ping.code !== 0) return { problem: `rabbitmqctl ping failed (exit ${ping.code}: ${ping.output})`, cliMs: ping.ms };
  return { problem: null, cliMs: ping.ms };
}

/**
 * `rabbitmqctl stop_app`, then `restart(stoppedMs, startApp)`, which invokes start_app when it is
 * ready to time it, and returns once the broker answers (start_app may still be finishing: its
 * result comes with the answer). start_app is run, once, whatever happens in between, an error or
 * an interrupted harness: the shared service is never left stopped by a benchmark.
 */
export async function stopAppThen<T>(
  restart: (stoppedMs: number, startApp: () => Promise<CliResult>) => Promise<T>,
): Promise<{ result: T; startApp: Promise<CliResult> }> {
  let started: Promise<CliResult> | null = null;
  const startApp = () => (started ??= rabbitmqctl(["start_app"], START_APP_TIMEOUT_MS));
  const done = onInterrupt(async () => void (await startApp()));
  try {
    const stop = await rabbitmqctl(["stop_app"], STOP_APP_TIMEOUT_MS);
    if (stop.code !== 0) throw new Error(`rabbitmqctl stop_app failed (exit ${stop.code}: ${stop.output})`);
    const result = await restart(stop.ms, startApp);
    const start = startApp();
    void start.finally(done);
    return { result, startApp: start };
  } catch (error) {
    await startApp();
    done();
    throw error;
  }
}
