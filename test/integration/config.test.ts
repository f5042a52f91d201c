/** The seed's configuration variables, from the environment and from a `.env` file. */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, removeDir, startBroker, tempDir, testBackend, type BrokerProcess } from "../support/broker-process.ts";

const started: BrokerProcess[] = [];
afterEach(async () => {
  for (const broker of started.splice(0)) {
    await broker.stop();
    removeDir(broker.dataDir);
  }
});

async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

describe("configuration", () => {
  test("HTTP_PORT is the port the broker listens on", async () => {
    const port = await freePort();
    const broker = await startBroker({ port });
    started.push(broker);
    expect(broker.port).toBe(port);
    expect((await api(`http://127.0.0.1:${port}`, "GET", "/ping")).body).toEqual({ message: "PONG" });
  });

  // These two look for the SQLite file, which the Postgres backend never creates.
  test.skipIf(testBackend === "postgres")("DATABASE_NAME names the SQLite file <name>.db in DATA_DIR", async () => {
    const broker = await startBroker({ env: { DATABASE_NAME: "my-broker" } });
    started.push(broker);
    expect(existsSync(join(broker.dataDir, "my-broker.db"))).toBe(true);
  });

  test.skipIf(testBackend === "postgres")("variables are also read from a .env file in the working directory", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, ".env"), "DATABASE_NAME=from-dotenv\nALLOWED_HOSTS=example.com\n");
    const broker = await startBroker({ dataDir });
    started.push(broker);
    expect(existsSync(join(dataDir, "from-dotenv.db"))).toBe(true);
    // ALLOWED_HOSTS from .env applies: our 127.0.0.1 Host header is refused.
    expect((await api(broker.url, "GET", "/ping")).status).toBe(403);
  });

  test("the seed's other variables are accepted", async () => {
    const broker = await startBroker({
      env: {
        DO_MIGRATIONS: "true",
        CHECKPOINT_IN_SECONDS: "10",
        MAX_WORKERS_ALLOWED_CONCURRENTLY_FOR_REAL_TIME_UPDATES: "10",
        WORKERS_ALLOWED_FOR_SYNC: "20",
      },
    });
    started.push(broker);
    expect((await api(broker.url, "GET", "/ping")).status).toBe(200);
  });

  test("a bad value stops start-up with a line naming the variable", async () => {
    const dataDir = tempDir();
    try {
      const failed = await startBroker({ dataDir, env: { CHECKPOINT_IN_SECONDS: "soon" } }).then(
        (broker) => {
          started.push(broker);
          return "started";
        },
        (error: Error) => error.message,
      );
      expect(failed).toContain("CHECKPOINT_IN_SECONDS");
    } finally {
      removeDir(dataDir);
    }
  });

  const startFails = async (env: Record<string, string>): Promise<string> => {
    const dataDir = tempDir();
    try {
      return await startBroker({ dataDir, env }).then(
        (broker) => {
          started.push(broker);
          return "started";
        },
        (error: Error) => error.message,
      );
    } finally {
      removeDir(dataDir);
    }
  };

  test("[CONFIG-1] a HOST that is no address, or one this machine does not have, names HOST", async () => {
    for (const host of ["999.1.1.1", "not a host", "1.2.3"]) {
      const failed = await startFails({ HOST: host });
      expect(failed).toContain("HOST must be an IP address or a host name");
      expect(failed).toContain(host);
    }
    // Well-formed, but not an address of this machine: Bun's own error, with our variables.
    // AUTH=none: past the no-users rule for a non-loopback HOST ([AUTH-5], tested in security tests).
    expect(await startFails({ HOST: "203.0.113.7", AUTH: "none" })).toContain("cannot listen on HOST=203.0.113.7");
  });

  test("a DISK_FREE_LIMIT that is no byte count stops start-up naming it", async () => {
    expect(await startFails({ DISK_FREE_LIMIT: "lots" })).toContain('DISK_FREE_LIMIT must be a byte count with an optional unit');
  });

  test("[CONFIG-2] ALLOWED_HOSTS set but empty is an error, not allow-all; a malformed entry too", async () => {
    expect(await startFails({ ALLOWED_HOSTS: "" })).toContain("ALLOWED_HOSTS is set but empty");
    expect(await startFails({ ALLOWED_HOSTS: " , " })).toContain("ALLOWED_HOSTS is set but empty");
    expect(await startFails({ ALLOWED_HOSTS: "example.com/path" })).toContain('ALLOWED_HOSTS: "example.com/path"');
  });
});
