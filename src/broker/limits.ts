/**
 * The broker's limits and defaults, each with its reason (nats-server's const.go): how much work one
 * turn of the event loop may do, how often timers run, and the config defaults of flow control and
 * de-duplication.
 */

// ---- one turn of the event loop ------------------------------------------------------------------

/** Messages handed to subscribers per turn of the event loop while a backlog drains. */
export const DRAIN_BATCH = 512;
/** Bytes per drain turn; keeps one turn short even with large payloads. */
export const DRAIN_BATCH_BYTES = 1 << 20;
/** When a subscriber is backpressured, the backlog waits this long for a drain before pushing on. */
export const DRAIN_RETRY_MS = 50;

// ---- timers --------------------------------------------------------------------------------------

/** How often TTLs, delays and ack timeouts are looked at: their precision. */
export const TICK_MS = 100;
/**
 * [COUNT-1] How often delivery counts of durable messages are handed to the store. Deliveries do not
 * wait for it (that would add a commit to every delivery); a kill -9 loses at most this window's counts.
 */
export const DELIVERY_RECORD_MS = 20;

/**
 * [ACK-1] How often acks (messages that left durable queues) are deleted from the store: after a
 * kill -9, what was acked more than this long before comes back no more. Each flush is one
 * transaction of range deletes, so it costs little; the full checkpoint stays CHECKPOINT_IN_SECONDS.
 */
export const ACK_FLUSH_MS = 100;

// ---- logging -------------------------------------------------------------------------------------

/** Dead-letter cycles logged, each once; past this many the log stays quiet (bounded memory). */
export const MAX_REPORTED_CYCLES = 1_000;

// ---- flow control --------------------------------------------------------------------------------

/** Message bytes all queues may hold before publishes are refused: RSS stays near this plus ~150 MB. */
export const DEFAULT_MAX_QUEUED_BYTES = 256 << 20;
/** MAX_QUEUED_BYTES from 1 MiB (one largest default payload) to 1 TiB (what any machine's memory could hold). */
export const MAX_QUEUED_BYTES_BOUNDS = { min: 1 << 20, max: 2 ** 40 } as const;

// ---- de-duplication ------------------------------------------------------------------------------

/** How long a publish's message_id is remembered: covers a publisher's retries across a reconnect or a broker restart. */
export const DEFAULT_DEDUP_WINDOW_SECONDS = 120;
/** DEDUP_WINDOW_SECONDS from 0 (off) to a day: every id in the window is held in memory and on disk. */
export const DEDUP_WINDOW_SECONDS_BOUNDS = { min: 0, max: 86_400 } as const;

// ---- paging --------------------------------------------------------------------------------------

/** [HIST-2] Rows per read of a durable queue's stored history for a replay. */
export const REPLAY_READ_ROWS = 1_000;
/** [HIST-2] Reads per replay at most: history_size is at most 100,000 (MAX_HISTORY_SIZE), plus what came meanwhile. */
export const MAX_REPLAY_READS = 200;
/** A failed read of a durable queue's messages is tried again after this long. */
export const PAGE_RETRY_MS = 500;

/** Messages a management move takes out of its queue at a time (their copies are stored together). */
export const MOVE_BATCH = 256;
/** A move waits for messages still being stored (just dead-lettered) this often, at most this many times (5 s). */
export const MOVE_COMMIT_WAIT_MS = 10;
export const MOVE_COMMIT_WAITS = 500;
/**
 * [MOVE-3] A move sets aside the messages it does not take so the window can read on past them, up
 * to this many messages or bytes (then it stops: the rest count as skipped). They are in the store
 * already; this bounds the memory one move may hold.
 */
export const MOVE_SET_ASIDE_MESSAGES = 65_536;
export const MOVE_SET_ASIDE_BYTES = 64 << 20;
/** Flow control refusals are logged at most this often (with their count). */
export const FLOW_LOG_MS = 10_000;
