/**
 * The transport's limits and defaults, each with its reason (nats-server's const.go): what a
 * request, a frame or a socket may cost, and the config defaults that belong to serving.
 */

// ---- request bodies and frames -------------------------------------------------------------------

/**
 * Deepest nesting of JSON a request body or frame may carry. JSON.parse's cost explodes with
 * depth (100,000 nested arrays in 200 KB stalled the event loop ~1.6 s, then answered 500), while
 * real documents are rarely 10 deep; 64 leaves room for any sane payload and keeps parsing linear.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Most headers a message may carry (and arguments a binding): each is matched and stored, and a
 * 1 MiB body could otherwise hold ~100,000 of them. RabbitMQ's own x-death tables stay far below.
 */
export const MAX_HEADERS = 256;

/** WebSocket frames may exceed the payload limit by this much for the envelope (names, key, headers). */
export const ENVELOPE_BYTES = 64 << 10;

/** Larger payloads belong in object storage; the seed had no limit at all (MAX_PAYLOAD_BYTES). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20;
/** MAX_PAYLOAD_BYTES may be set up to 64 MiB: a body is held whole in memory, parsed and stored in one row. */
export const MAX_PAYLOAD_BYTES_BOUNDS = { min: 1, max: 64 << 20 } as const;

// ---- paths ---------------------------------------------------------------------------------------

/** Deeper than any route of ours (the Swagger assets, 4): a longer raw path is only refused if it was shortened. */
export const MAX_PATH_SEGMENTS = 8;

// ---- listening -----------------------------------------------------------------------------------

/** The seed's port: its clients connect here unchanged (HTTP_PORT). */
export const DEFAULT_HTTP_PORT = 8060;
/** TCP ports are 16 bits: a Host or Origin port past this is refused, never parsed. */
export const MAX_PORT = 65_535;
/** HTTP_PORT: any TCP port; 0 asks the system for any free one. */
export const HTTP_PORT_BOUNDS = { min: 0, max: MAX_PORT } as const;

/** How long a browser may cache a CORS preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

// ---- slow subscribers [SLOW-1] -------------------------------------------------------------------

/** A subscriber this far behind is closed (it can reconnect) so that one slow reader cannot exhaust memory. */
export const DEFAULT_SUBSCRIBER_MAX_BUFFER_BYTES = 16 << 20;
/**
 * SUBSCRIBER_MAX_BUFFER_BYTES from 64 KiB (one scan's worth, SCAN_EVERY_BYTES: less could not be
 * kept) to 1 GiB (per subscriber; beyond it a few slow readers exhaust memory).
 */
export const SUBSCRIBER_MAX_BUFFER_BYTES_BOUNDS = { min: 64 << 10, max: 1 << 30 } as const;

/**
 * While some subscriber of a queue has unsent data, every subscriber of such queues is looked at
 * once at least this many bytes more went to them: one past the limit is closed then (4008).
 */
export const SCAN_EVERY_BYTES = 64 << 10;

/**
 * The least a turn of the event loop may hand to Bun's topics unseen (uncheckedTurnBytes is half
 * the subscriber limit, but never under a scan's worth, or small limits would send frame by frame).
 */
export const MIN_UNCHECKED_TURN_BYTES = 64 << 10;

/**
 * [BATCH-1] A batching subscriber's MESSAGES frame holds at most this many bytes of deliveries (and
 * MAX_BATCH_MESSAGES of them): the rest of the turn starts another. Bounded so a client's read buffer
 * and a scan's look at unsent data stay small; 64 KiB already makes a frame's own cost per message
 * negligible (~120 messages of 256 bytes).
 */
export const MAX_BATCH_BYTES = 64 << 10;
export const MAX_BATCH_MESSAGES = 1_000;

/**
 * How long a subscriber cut for being slow may take to read what was sent to it before its close
 * frame is queued anyway; Bun then gives it 16 s more (its ping timeout at idleTimeout 120) and
 * drops the connection. Well inside the idle timeout, which would drop it with no close frame.
 */
export const SLOW_CLOSE_GRACE_MS = 60_000;

/**
 * Bun's WebSocket idleTimeout: a socket silent this long is dropped (Bun pings it first). It also
 * sets how long a closed socket may take to write out what it holds (16 s at this value), after a
 * cut subscriber's SLOW_CLOSE_GRACE_MS.
 */
export const WS_IDLE_TIMEOUT_SECONDS = 120;

// ---- shutdown ------------------------------------------------------------------------------------

/** Longest a SIGTERM/SIGINT shutdown may take (SHUTDOWN_TIMEOUT_MS): under the usual 10 s before an orchestrator kills. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 8_000;
/** From 100 ms (a commit and one turn for the answers) to a minute (a stop must not hang a deploy). */
export const SHUTDOWN_TIMEOUT_MS_BOUNDS = { min: 100, max: 60_000 } as const;
/**
 * SHUTDOWN_DELAY_MS: after SIGTERM, how long the broker keeps serving with GET /readyz at 503 before
 * it stops, so a load balancer takes it out of rotation first (Kubernetes' preStop pause). Default none.
 */
export const DEFAULT_SHUTDOWN_DELAY_MS = 0;
export const SHUTDOWN_DELAY_MS_BOUNDS = { min: 0, max: 60_000 } as const;
/** After the last commit, one turn for its CONFIRM frames and HTTP answers to go out before the sockets close (1001). */
export const SHUTDOWN_ANSWER_MS = 20;
/** How long shutdown waits for the HTTP server to finish open requests before exiting anyway. */
export const SERVER_STOP_WAIT_MS = 1_000;

// ---- event-loop monitor --------------------------------------------------------------------------

/** How often the monitor looks: finer would cost CPU, coarser would hide short stalls. */
export const LOOP_TICK_MS = 5;
/** The recent window, in seconds: long enough to span a benchmark step, short enough to forget start-up. */
export const LOOP_WINDOW_SECONDS = 10;
/** A stall counted in `stalls_over_20ms`: long enough to be felt by a client as added latency. */
export const COUNTED_STALL_MS = 20;

// ---- the disk alarm (DISK_FREE_LIMIT) [DISK-1] ----------------------------------------------------

/**
 * Free space the filesystem holding the SQLite database must keep, or durable publishes are refused
 * (DISK_ALARM). RabbitMQ's default disk_free_limit (50 MB), in the binary units of our other byte
 * defaults. It is the room left for what must still be written once publishes stop: the commits
 * already in flight, the acks and the checkpoint's deletes (which go through the WAL too, so a
 * full disk would keep consumers from draining the queue), the WAL copied back into the database
 * file, and what other processes on the same disk write meanwhile. It is a margin, not a wall: a
 * disk that fills anyway fails the write, answered 503 STORE_UNAVAILABLE, never 200 [DISK-2].
 */
export const DEFAULT_DISK_FREE_LIMIT_BYTES = 50 << 20;
/** DISK_FREE_LIMIT from 0 (off) to 2^53 - 1 bytes (8 PiB: the largest byte count a number holds exactly). */
export const DISK_FREE_LIMIT_BOUNDS = { min: 0, max: Number.MAX_SAFE_INTEGER } as const;
/** How often free space is read with nothing asking: so the alarm is raised, cleared and logged while idle. */
export const DISK_CHECK_EVERY_MS = 1_000;
/**
 * A publish re-reads free space when the last reading is older than this. A statfs costs under a
 * microsecond, so even at 100,000 publishes a second this is 100 calls; and what is written between
 * two readings is at most 10 ms of the disk's throughput, far inside DISK_FREE_LIMIT.
 */
export const DISK_RECHECK_AFTER_MS = 10;

// ---- the seed's settings -------------------------------------------------------------------------

/** MAX_WORKERS_ALLOWED_CONCURRENTLY_FOR_REAL_TIME_UPDATES: the seed's default, accepted and validated, no effect. */
export const SEED_REALTIME_WORKERS = 10;
/** WORKERS_ALLOWED_FOR_SYNC: the seed's default, accepted and validated, no effect. */
export const SEED_SYNC_WORKERS = 20;
/** What the seed's worker counts may be set to: positive, and no more than any machine runs. */
export const SEED_WORKERS_BOUNDS = { min: 1, max: 1 << 16 } as const;

// ---- overview (dashboard) ------------------------------------------------------------------------

/** One overview sample (rates, gauges) per second, for the dashboard's live charts. */
export const OVERVIEW_INTERVAL_MS = 1_000;
/** Ten minutes of samples kept in memory (about 100 KiB). */
export const OVERVIEW_SAMPLES = 600;
/** How often the store is pinged for the overview's status, and how long a ping (also /readyz's) may take. */
export const STORE_PING_EVERY_MS = 5_000;
export const STORE_PING_TIMEOUT_MS = 2_000;

// ---- authentication ------------------------------------------------------------------------------

/** AUTH_TIMEOUT_MS: a WebSocket that has not authenticated within this is closed (4001); Centrifugo's default is a few seconds too. */
export const DEFAULT_AUTH_TIMEOUT_MS = 5_000;
export const AUTH_TIMEOUT_MS_BOUNDS = { min: 100, max: 60_000 } as const;
/** A connection whose token expires is asked for a new one this long before, and closed (4011) at expiry if none came. */
export const TOKEN_REFRESH_NOTICE_MS = 30_000;
