/**
 * Writes docs/INVARIANTS.md: every invariant id used in src/ and test/ (`[COMMIT-1]`), what it
 * guarantees, and the files that enforce and test it. `--check` only says whether the page is
 * current (test/docs/invariants.test.ts runs it), so an id cannot be added without its line.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const PAGE = join(ROOT, "docs/INVARIANTS.md");

/** One line per id: what a user may rely on. */
export const MEANINGS: Record<string, string> = {
  "BODY-1": "A chunked body is held to MAX_PAYLOAD_BYTES like a declared one, and answered 413 in JSON.",
  "BYTES-1": "What counts toward max_bytes is one function: body, key, exchange, id and headers as JSON, plus 64 per message.",
  "CLIENT-1": "The client and CLI refuse names no path can carry (`.`, `..`) before sending anything.",
  "CLIENT-2": "The client percent-encodes every name it puts in a path: each reaches only its own resource.",
  "CLIENT-3": "`pubsub queues get .` and the like exit 1 with INVALID_NAME, never listing every queue.",
  "CLIENT-4": "With `redeclare: true` the client declares again what it declared after a reconnect, before anything resumes.",
  "CLIENT-5": "The live-feed example keeps ticking across a broker restart.",
  "CLOSE-1": "The client's close() waits for every outstanding confirm.",
  "COMMIT-1": "A durable queue's message is delivered only after its commit: a crash never takes back what a client saw.",
  "AUTH-1": "Every REST route has a row in ROUTE_ACCESS and every WebSocket frame one in FRAME_ACCESS; one hook checks each request against it (no row: 403), lists show only what the caller may see.",
  "AUTH-2": "With users or token keys configured a WebSocket is let in by a credential on its upgrade or an AUTH frame first; any other frame first, or none within AUTH_TIMEOUT_MS, closes it with 4001.",
  "AUTH-3": "A JWT's connection gets TOKEN_EXPIRING before exp and is closed with 4011 at exp unless an AUTH with a new token for the same user came.",
  "AUTH-4": "A user, key or permission changed takes effect on open connections at once: a removed one is closed (4001), a lost permission drops what it allowed.",
  "AUTH-5": "Without users or token keys the broker is RabbitMQ's guest (full access from loopback only) and refuses to listen beyond loopback unless AUTH=none.",
  "LOGIN-1": "POST /session counts failed logins per client address (the request Elysia sees is rebuilt; its address rides beside it), not all clients as one.",
  "AUTH-6": "Declaring a queue with a dead-letter exchange needs write on that exchange (and topic write on its key) and read on the queue, as RabbitMQ checks.",
  "AUTH-7": "A JWT narrowed by a user loses all access when that user is deleted; it is never widened to its claim alone.",
  "AUTH-8": "Without users, a cross-origin browser request (or WebSocket) is not the loopback guest unless its origin is served from loopback or ALLOWED_HOSTS lists it; a session cookie opens a WebSocket only from the broker's own origin, for the session's life.",
  "AUTH-9": "Without users, the loopback guest is only a request whose Host names this machine (localhost, a loopback address, its host name) or a host ALLOWED_HOSTS lists: a DNS-rebinding page gets 401.",
  "AUTH-10": "The store's location (the SQLite file's path, the Postgres host and database) is shown in /overview and /metrics/json to administrators only.",
  "AUTH-11": "Credential checks run at most two at a time per client host (IPv6 /64), the rest wait their turn: guesses sent all at once meet the auth backoff as the ones before left it; valid ones wait, none is refused until 1,000 wait.",
  "CLI-TOKEN-1": "The CLI's --token-file (or PUBSUB_TOKEN_FILE) is read again at each renewal and reconnection: a JWT rotated in the file keeps a subscribe or consume going past the first token's exp; a missing or empty file is one clear line, exit 1.",
  "JWT-CACHE-1": "A verified JWT is remembered until it expires (tolerance included) and never past: a token sent on every request is verified once, with the same verdicts as without the memory.",
  "CSRF-1": "A session cookie (HttpOnly, SameSite=Strict) changes state only with its X-CSRF-Token.",
  "ASYNCAPI-1": "GET /asyncapi.json is generated from the schemas frames are checked with: every accepted frame type and every frame the broker sends is in it, and it validates with @asyncapi/parser.",
  "CONFIG-1": "A HOST that is no address, or that cannot be listened on, stops start-up naming HOST (and HTTP_PORT).",
  "CONFIG-2": "ALLOWED_HOSTS set but empty is an error, not allow-all.",
  "CONFIRM-1": "A publish that reached a durable queue is answered only after store.append committed; kill -9 loses no answered one.",
  "CONSUME-1": "CONSUMING is sent only for a queue that took the consumer, before its first delivery.",
  "CONSUME-CLIENT-1": "The client re-attaches a consumer after a reconnect; the dropped socket's deliveries come again, redelivered.",
  "CORS-1": "Every state-changing request and preflight from an origin ALLOWED_HOSTS refuses is 403; allowed origins get CORS headers.",
  "ACK-1": "Acks (messages that left durable queues) are deleted from the store within ACK_FLUSH_MS (100 ms), so a kill -9 brings back only that window's acked messages.",
  "COUNT-1": "Delivery counts of durable messages are stored (batched), so delivery_count and the delivery limit survive kill -9.",
  "CRASH-1": "Crash matrix against the executable: nothing confirmed lost, nothing invented, duplicates flagged, order kept.",
  "CRASH-2": "SIGTERM under load: exit 0, clients told 1001, nothing confirmed lost, every repeat marked redelivered.",
  "CRASH-3": "The crash matrix's paged variant: a backlog ten times the memory window, kill -9 while it is read back; nothing confirmed lost, duplicates flagged, order kept.",
  "CRASH-CLIENT-1": "The client across kill -9 and SIGTERM: every publish confirmed, every message received, none twice unmarked.",
  "DEDUP-1": "A repeated message_id is confirmed with the original message's id and enqueued once, also after kill -9.",
  "DEDUP-2": "A publish that routed nowhere, or was refused, does not use up its message_id.",
  "EDGE-1": "A plain POST /publish is answered at the edge, without Elysia: the same status, headers and body as the route, for every input and caller.",
  "DEPTH-1": "JSON nested deeper than 64 levels is refused before parsing (400 BAD_JSON): no stall, no 500.",
  "DEPTH-2": "A too-deep WebSocket frame is refused the same way, and its ERROR still names the frame's id.",
  "DISK-1": "Below DISK_FREE_LIMIT, publishes reaching a durable queue are refused whole (503 DISK_ALARM), transient ones flow, /readyz is 503; it clears by itself.",
  "DISK-2": "A full disk answers durable publishes 503 STORE_UNAVAILABLE, never 200 unstored; freed, they flow again; after kill -9 every 200 is there.",
  "DLX-2": "dead_letter_exchange \"\" is the default exchange: the queue named by the dead-letter routing key.",
  "DLX-3": "A message is dropped rather than dead-lettered into a queue it already died in with no rejection since (no cycles).",
  "DLX-6": "x-first-death-* and x-death-count a publisher forged are set afresh at the first real death.",
  "DLX-5": "After a crash, a message dead-lettered again from its restored source arrives marked redelivered, never as new.",
  "DLX-4": "Dead-lettered messages carry RabbitMQ's x-death records and x-first/last-death-* headers, besides our flat ones.",
  "ERROR-ID-1": "An ERROR for a refused frame names that frame's id.",
  "EXCL-1": "An exclusive queue is deleted or purged only by its own connection (409 Q006 otherwise, HTTP included).",
  "FUZZ-1": "Fuzzer case: a deeply nested name in POST /queues is a 4xx, not a 500.",
  "FUZZ-2": "Fuzzer case: 10,000 nested objects in a field are refused fast, memory flat.",
  "FUZZ-3": "Fuzzer case: a raw backslash in a path (`/queues/x\\..\\victim`) never reaches another queue.",
  "FUZZ-4": "Fuzzer case: a number out of double range (1e400) is refused, never delivered as null.",
  "FUZZ-5": "Fuzzer case: a misspelled DELETE guard (`?if_empty[]=true`) is refused, nothing deleted.",
  "FUZZ-6": "Fuzzer case: non-UTF-8 bytes in a path reach no queue (U+FFFD is no valid name).",
  "FUZZ-7": "Fuzzer case: a Host port over 65535 is a 4xx, never a 500.",
  "FUZZ-8": "Fuzzer case: a declaration or publish gets the same verdict over HTTP and WebSocket.",
  "HEADERS-1": "Headers and binding arguments that are not objects are refused, never coerced; binding arguments are scalars.",
  "HEADERS-2": "Structured header values (x-death) are stored and delivered exactly; a headers exchange routes on the scalar ones.",
  "HEADERS-3": "A null binding argument matches a header that is present with any value (AMQP void).",
  "HIST-1": "History never replays a message that left before anyone had it (dropped, expired, purged).",
  "HIST-2": "A durable queue is a stream: what it delivered stays in the store as retained history (history_size, history_ttl, history_max_bytes), so SUBSCRIBE since resumes across a restart or kill -9 with no gap and no duplicate; GAP only past retention.",
  "HIST-3": "What leaves a durable queue past its history window (lastSeq - history_size) is deleted at the next checkpoint, not kept as history to be trimmed later: replays never reached it, and it costs one write instead of three.",
  "HOST-1": "A Host header that is no host is a 403, never a 500.",
  "HOST-2": "A Host of 1-3 characters (`mq`) reaches every route.",
  "KEY-1": "Routing and binding keys with U+0000 or a lone surrogate are refused with 422 on every backend.",
  "KEY-2": "A message_id with U+0000 or a lone surrogate is refused with 422, over HTTP and WebSocket.",
  "KEY-3": "Strings inside JSON columns (headers, arguments, payload) are stored faithfully on every backend.",
  "LOCK-1": "One broker per database: a second one refuses to start; a broker that lost the lock cannot write.",
  "LOCK-2": "The Postgres lock is free the moment the store's close resolves, so a restart at once gets it.",
  "LOCK-3": "A broker finding the Postgres lock held waits a few seconds for it: a broker killed a moment ago holds it until its backend exits, and a restart at once still starts.",
  "LIMIT-1": "Delayed messages count toward max_length and max_bytes: a delay never gets a publish past a reject-publish limit.",
  "MEM-1": "Memory stays bounded: 503 FLOW_CONTROL past MAX_QUEUED_BYTES, a non-reading subscriber closed, RSS bounded.",
  "MEM-2": "Retained history counts against MAX_QUEUED_BYTES, and stops counting once forgotten.",
  "METHOD-1": "A known path with another method is 405 with Allow, not 404.",
  "MIGRATE-1": "A database made by an older release upgrades in place, its rows kept.",
  "NAME-1": "`.` and `..` are refused as names everywhere: no URL path can carry them.",
  "NAME-2": "One printable rule for names (no controls, format, surrogates, noncharacters, private use, odd spaces, U+FFFD).",
  "NAME-3": "Every other valid name reaches exactly its own resource once percent-encoded.",
  "NAME-4": "Exchanges and queues stored under names now refused are restored with their messages, and logged.",
  "OPENAPI-1": "The OpenAPI document lists every route's errors (403 everywhere) and types integers as integers.",
  "PROM-1": "GET /metrics is the Prometheus text format that promtool accepts; per-queue series are capped at METRICS_QUEUE_LIMIT, the rest summed into queue=\"_other\".",
  "READY-1": "GET /readyz is 503 from the moment SIGTERM arrives (SHUTDOWN_DELAY_MS keeps serving that long), and while the database does not answer a ping.",
  "PAGE-1": "A durable queue keeps a window of its head in memory; the rest waits on disk and is read back in order, by seq range, as it drains. Start-up counts the backlog (kept counters) instead of reading it.",
  "PATH-1": "A malformed percent escape in a path is 400 BAD_PATH.",
  "PATH-2": "A path that Bun's URL parser changed (dot segments, raw backslash) is 400 BAD_PATH, never another resource.",
  "PROTO-1": "A header or binding argument named __proto__ is refused: copied by assignment it would set a prototype, not a key.",
  "QUERY-1": "A query parameter given twice, or a bad escape in a query, is refused: the last value never silently wins.",
  "REDELIVERED-1": "A message that may have been delivered before a restart comes again marked redelivered, never as new.",
  "REDRIVE-1": "A dead-lettered message published again with its headers (x-death included) is accepted and keeps them.",
  "RESUME-1": "A delayed message delivered while a subscriber was away is replayed on resume, not skipped.",
  "RESUME-2": "history_ttl forgets retained messages past it even when nothing new is published.",
  "RESUME-3": "Messages still waiting count as available: no false GAP on resume.",
  "RESUME-CLIENT-1": "The client's subscriber resumes from the last seq it saw: every message once, in order.",
  "SEED-CASE-1": "The seed's routes accept its case-insensitive field names (`Name`, `Payload`).",
  "SEED-CASE-2": "The seed's SUBSCRIBE frame fields match case-insensitively (`Type`, `Payload`, `Queue_Name`).",
  "SEQ-1": "A seq is never reused, also after a purge and kill -9.",
  "SIGNAL-1": "A SIGTERM at any moment of start-up ends with exit 0 and loses nothing.",
  "SINCE-1": "SUBSCRIBE with since: null is a plain subscribe.",
  "SLOW-1": "A slow subscriber is cut between whole frames and told 4008; the others of its queue lose nothing.",
  "BENCH-WARM-1": "Bench scenario 8 measures latency once every target's hot path is compiled: a burst of messages and a pause before its fixed-rate run (--latency-warm, 0 for none).",
  "BATCH-1": "A subscriber that asked for batch gets each turn's deliveries of a queue as one MESSAGES frame when there are several: exactly the MESSAGE frames it would have got, each once, in seq order; an UNSUBSCRIBE's reply after all of them; cut like any subscriber, after whole frames.",
  "RESERVED-1": "A client cannot make a new exchange or queue named amq.… (403 E005 / Q007): no exchange of its own passes for the default exchange (amq.default) in permission rules, no queue for a server-named amq.gen-… one; existing ones stay usable.",
  "MOVE-2": "A move of all waits for a page read already in flight: the rows it brings are moved, not counted as skipped (the move took the queue for drained while they were on their way).",
  "MOVE-3": "A move reads on past a window full of messages it leaves (setting them aside, up to 65,536 messages or 64 MiB, then giving them back in order; a purge meanwhile drops them): the chosen ones on disk behind them are moved.",
  "MOVE-4": "A message a move gives back (its target refused it, or the move set it aside) goes back where its seq places it among those waiting, not to the head: consumers still get the queue in order.",
  "RELAY-1": "A follower passes on every frame a client sent before closing, even when the client closed before the follower's own socket to the leader was open.",
  "CORK-1": "A publish's answer sent after its commit (outside the socket's handler) goes out at the end of that microtask run, each socket's in one corked write, in the order sent; a close the broker makes writes them first.",
  "RELAY-2": "A follower writes what the leader sent a client in one corked write per client and turn, in order, each client still cut (4008) at the frame that takes it past its buffer limit, and a close after the frames before it.",
  "TEST-LEAK-1": "A test that signals a broker's process itself stops the broker too: against a cluster that process is one node of three.",
  "TEST-ROLL-1": "The rolling-restart test acks what it counts: a consumer that acks nothing gets at most its prefetch, fewer than a fast run confirms.",
  "CLUSTER-1": "With NATS_URL and DATABASE_URL a broker is a node of a cluster: the node holding the database's advisory lock leads (restores the broker from Postgres and serves), every other node forwards each request and WebSocket to it with the leader's answer; kill -9 the leader and a follower takes over with no confirmed message lost, and a leader whose lock another session took stops.",
  "SESSION-1": "A logout (DELETE /session) closes the WebSockets that session's cookie opened (4001) at once; the same user's connections by key or token stay.",
  "FLOW-1": "A WebSocket publisher faster than the fan-out is paused until the next turn (TCP back-pressure): its frames are handled in order, none dropped, the publishes and acks sent before it closed included, and nothing of a closed connection is left behind.",
  "SLOW-2": "A subscriber that resumes with since gets what it missed while history covers it (durable queues keep 1,000 by default).",
  "STRICT-1": "Bodies are checked strictly: unknown fields and coerced types are refused with a 422 naming the field.",
  "STRICT-2": "Every WebSocket frame's payload is checked against a closed model: a misspelt field is an ERROR, never ignored.",
  "TTL0-1": "TTL 0 delivers to a consumer that can take the message at once, else it expires (RabbitMQ).",
  "UTF8-1": "Invalid UTF-8 in a body is refused (400 BAD_JSON), never replaced.",
  "UTF8-2": "A binary WebSocket frame is read as UTF-8 JSON text, invalid UTF-8 refused.",
  "VACUUM-1": "SQLite runs with incremental auto-vacuum; a full checkpoint after a quiet interval gives free pages past 4 MiB back to the file system, so the file shrinks once a backlog drained.",
};

const ID = /\[([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-[0-9]+)\]/g;
const SOURCES = ["src", "test", "bench", "examples"];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    return statSync(path).isDirectory() ? files(path) : /\.(ts|tsx|js)$/.test(name) ? [path] : [];
  });
}

/** id → { enforced: src files, tested: test files } */
export function usages(): Map<string, { enforced: Set<string>; tested: Set<string> }> {
  const found = new Map<string, { enforced: Set<string>; tested: Set<string> }>();
  for (const top of SOURCES) {
    for (const path of files(join(ROOT, top))) {
      const text = readFileSync(path, "utf8");
      for (const [, id] of text.matchAll(ID)) {
        const entry = found.get(id!) ?? { enforced: new Set(), tested: new Set() };
        found.set(id!, entry);
        const where = relative(ROOT, path);
        (where.startsWith("src/") || where.startsWith("examples/") ? entry.enforced : entry.tested).add(where);
      }
    }
  }
  return found;
}

export function page(): string {
  const found = usages();
  const ids = [...new Set([...found.keys(), ...Object.keys(MEANINGS)])].sort();
  const list = (paths: Set<string> | undefined) => (paths && paths.size > 0 ? [...paths].sort().map((p) => `\`${p}\``).join(", ") : "–");
  const rows = ids.map((id) => `| \`${id}\` | ${MEANINGS[id] ?? "**undocumented**"} | ${list(found.get(id)?.enforced)} | ${list(found.get(id)?.tested)} |`);
  return [
    "# Invariants",
    "",
    "Every id used in the code and the tests (`[COMMIT-1]` in a comment, `test(\"[COMMIT-1] …\")`), what it",
    "guarantees, where it is enforced and where it is tested. Generated by `bun scripts/invariants.ts`",
    "from the one-line meanings in that script; `test/docs/invariants.test.ts` fails when this page is",
    "out of date or an id has no meaning.",
    "",
    "| id | guarantee | enforced in | tested in |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const wanted = page();
  if (process.argv.includes("--check")) {
    const current = readFileSync(PAGE, "utf8");
    if (current !== wanted) {
      console.error("docs/INVARIANTS.md is out of date: run `bun scripts/invariants.ts`");
      process.exit(1);
    }
  } else {
    writeFileSync(PAGE, wanted);
    console.log(`wrote ${relative(ROOT, PAGE)}`);
  }
}
