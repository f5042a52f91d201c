/**
 * A private Postgres server for tests that stop and restart it (initdb + pg_ctl in a temp dir, on
 * a spare port), so that they disturb no other test. Runs as the `postgres` user when we are root,
 * since Postgres refuses to run as root.
 */
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export type PostgresInstance = {
  readonly port: number;
  readonly url: string;
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  restart(mode?: "fast" | "immediate"): Promise<void>;
  destroy(): Promise<void>;
};

/** A port nothing listens on right now. */
export function sparePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

async function run(argv: string[], asUser: string | undefined): Promise<void> {
  const cmd = asUser === undefined ? argv : ["runuser", "-u", asUser, "--", ...argv];
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}:\n${out}${err}`);
}

export async function startInstance(): Promise<PostgresInstance> {
  const asUser = process.getuid?.() === 0 ? "postgres" : undefined;
  const dir = mkdtempSync(join(tmpdir(), "pubsub-pg-"));
  if (asUser !== undefined) {
    const uid = Number(await Bun.$`id -u ${asUser}`.text());
    const gid = Number(await Bun.$`id -g ${asUser}`.text());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const port = sparePort();
  const pgCtl = (...args: string[]) => run([join(BIN, "pg_ctl"), "-D", data, ...args], asUser);
  // fsync off: this server's files are thrown away after the test; crash behaviour is Postgres' own.
  const start = () =>
    pgCtl("-w", "-t", "20", "-l", join(dir, "log"), "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "start");
  await run([join(BIN, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"], asUser);
  await start();
  const stop = (mode: "fast" | "immediate" = "fast") => pgCtl("-w", "-m", mode, "stop");
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async restart(mode = "fast") {
      await stop(mode);
      await start();
    },
    async destroy() {
      await stop("immediate").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
