/**
 * A database written before the name rules tightened may hold exchanges and queues under names now
 * refused (".", a no-break space, a BOM …). Such a database still opens and nothing stored is lost;
 * only the bindings under such names are left out, logged, as a bind request would be refused.
 * Rows are written straight into the database (as an older broker left them), then a broker starts
 * on it. Runs on SQLite and, with PUBSUB_TEST_BACKEND=postgres, on Postgres.
 */
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { createDatabase, type TestDatabase } from "../postgres/databases.ts";
import { api, removeDir, startBroker, tempDir, testBackend, type BrokerProcess } from "../support/broker-process.ts";
import { TestSocket } from "../support/ws-client.ts";

const live: BrokerProcess[] = [];
const sockets: TestSocket[] = [];
let database: TestDatabase | undefined;

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const broker of live) {
    if (broker.proc.exitCode === null) await broker.stop();
    removeDir(broker.dataDir);
  }
  await database?.drop();
});

/** Names the old rule accepted and the new one refuses. */
const LEGACY = [".", "..", "nb\u00a0sp", "\ufeffbom"];

type Row = readonly (string | number)[];
const rows = {
  exchanges: LEGACY.map((name, i): Row => [`${name}-x`, "fanout", i]).concat([["legacy-fanout", "fanout", 9]]),
  queues: LEGACY.map((name, i): Row => [name, 1, "{}", i]),
  bindings: LEGACY.map((name): Row => ["legacy-fanout", name, "", "{}"]),
  messages: LEGACY.map((name): Row => [name, 1, `id-${LEGACY.indexOf(name)}`, "legacy-fanout", "", "{}", JSON.stringify(`kept in ${name}`), 1, 0]),
};

const INSERTS = {
  exchanges: "insert into exchanges (name, kind, created_at) values ($1, $2, $3)",
  queues: "insert into queues (name, last_seq, args, created_at) values ($1, $2, $3, $4)",
  bindings: "insert into bindings (exchange, queue, key, args) values ($1, $2, $3, $4)",
  messages: "insert into messages (queue, seq, id, exchange, routing_key, headers, body, published_at, redelivered) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
};

/** [PAGE-1] The queues' counters, as the broker keeps them with every write (rows written here bypass it). */
const RECOUNT =
  "update queues set message_count = (select count(*) from messages where messages.queue = queues.name), " +
  "message_bytes = (select coalesce(sum(length(body) + 64), 0) from messages where messages.queue = queues.name)";

/** Writes the legacy rows while no broker runs on the database. */
async function writeLegacyRows(dataDir: string, databaseUrl: string | undefined): Promise<void> {
  if (databaseUrl === undefined) {
    const db = new Database(join(dataDir, "pub-sub.db"));
    for (const [table, sql] of Object.entries(INSERTS)) {
      const statement = db.prepare(sql.replaceAll(/\$\d/g, "?"));
      for (const row of rows[table as keyof typeof rows]) statement.run(...row);
    }
    db.run(RECOUNT);
    db.close();
    return;
  }
  const db = new SQL({ url: databaseUrl, max: 1 });
  for (const [table, sql] of Object.entries(INSERTS)) {
    for (const row of rows[table as keyof typeof rows]) await db.unsafe(sql, [...row]);
  }
  await db.unsafe(RECOUNT);
  await db.close();
}

test("[NAME-4] exchanges and queues stored under names now refused are restored with their messages, not their bindings; drained over WebSocket, deleted where a path can carry the name", async () => {
  const dataDir = tempDir();
  database = testBackend === "postgres" ? await createDatabase() : undefined;
  const env: Record<string, string> = database ? { DATABASE_URL: database.url } : {};
  const first = await startBroker({ dataDir, env }); // creates the schema
  live.push(first);
  expect(await first.stop()).toBe(0);
  await writeLegacyRows(dataDir, database?.url);

  const broker = await startBroker({ dataDir, env });
  live.push(broker);
  const call = (method: string, path: string, body?: unknown) => api(broker.url, method, path, body);

  // The stored objects and their messages: all restored, nothing lost.
  const queues = (await call("GET", "/queues")).body.map((q: { name: string; messages: number }) => [q.name, q.messages]);
  expect(queues).toEqual(expect.arrayContaining(LEGACY.map((name) => [name, 1])));
  const exchanges = (await call("GET", "/exchanges")).body.map((e: { name: string }) => e.name);
  expect(exchanges).toEqual(expect.arrayContaining(LEGACY.map((name) => `${name}-x`)));

  // Their bindings are not: a binding under a refused name is what a bind request would be
  // refused for, and it is what would keep routing new messages into a queue no path reaches.
  expect((await call("GET", "/bindings?exchange=legacy-fanout")).body).toEqual([]);
  for (const name of LEGACY) expect(broker.output()).toContain(`skipping stored binding legacy-fanout -> ${name}: queue name must`);
  for (const name of LEGACY) expect(broker.output()).toContain(`restored queue ${JSON.stringify(name)} has a name now refused`);
  expect((await call("POST", "/publish", { exchange_name: "legacy-fanout", key: "", payload: "new" })).body.routed).toBe(0);

  // What they hold can be drained over WebSocket, where names travel in JSON, not in a path.
  const socket = await TestSocket.open(broker.wsUrl);
  sockets.push(socket);
  for (const name of LEGACY) socket.subscribe(name);
  await socket.untilMessages(LEGACY.length);
  expect(socket.messages().map((m) => [m.queue, m.body]).sort()).toEqual(LEGACY.map((name) => [name, `kept in ${name}`]).sort());

  // Nothing new can be made under such names.
  for (const name of LEGACY) expect((await call("POST", "/queues", { name })).body.error.code).toBe("INVALID_NAME");

  // A name a path can carry is deleted as usual ("." and ".." cannot be: see the README).
  expect((await call("DELETE", `/queues/${encodeURIComponent("nb\u00a0sp")}`)).status).toBe(200);
  expect((await call("DELETE", `/exchanges/${encodeURIComponent("\ufeffbom-x")}`)).status).toBe(200);
  expect((await call("GET", `/queues/${encodeURIComponent("\ufeffbom")}`)).body.name).toBe("\ufeffbom");
}, 60_000);
