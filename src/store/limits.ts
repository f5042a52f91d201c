/**
 * The store's limits and defaults, each with its reason (nats-server's const.go): how much one
 * statement or transaction may carry, so that no write stalls the event loop or outgrows the
 * database's own limits, and how long a write may wait.
 */

// ---- both backends -------------------------------------------------------------------------------

/** Rows per transaction: ~2 ms of SQLite work at the measured insert rate, under the ~20 ms stall budget. */
export const MAX_GROUP_ROWS = 1_000;

/**
 * CHECKPOINT_IN_SECONDS: how long delivered messages may stay in the database, and so how far back
 * a crash may bring them; often enough that the WAL stays small, rarely enough to cost nothing.
 */
export const DEFAULT_CHECKPOINT_SECONDS = 10;
/** From 50 ms (each checkpoint is a transaction and a WAL checkpoint) to a day (past that the WAL grows without bound). */
export const CHECKPOINT_SECONDS_BOUNDS = { min: 0.05, max: 86_400 } as const;

// ---- SQLite --------------------------------------------------------------------------------------

/** Rows deleted per transaction at checkpoint: keeps each synchronous step well under ~20 ms. */
export const SQLITE_DELETE_CHUNK_ROWS = 1_000;
/** [VACUUM-1] Free pages kept for reuse (4 MiB of 4 KiB pages); past this, a checkpoint gives the rest back. */
export const SQLITE_VACUUM_MIN_FREE_PAGES = 1_024;
/** Pages given back per step: a few ms of work. */
export const SQLITE_VACUUM_STEP_PAGES = 512;
/** Steps per checkpoint (~16 MiB): a huge drained file shrinks over several checkpoints, and a drain in progress is barely slowed. */
export const SQLITE_VACUUM_MAX_STEPS = 8;
/** A database without incremental auto-vacuum is converted (one VACUUM, a rewrite) only while this small. */
export const SQLITE_CONVERT_VACUUM_MAX_BYTES = 256 << 20;
/** A second broker on the same file waits this long for the lock before it gives up. */
export const SQLITE_LOCK_WAIT_MS = 1_500;

// ---- Postgres ------------------------------------------------------------------------------------

/** A broker that cannot reach its database at start exits well within 10 s, naming host and port. */
export const POSTGRES_CONNECT_TIMEOUT_SECONDS = 4;
/**
 * A broker finding the database's lock held retries this long before it gives up [LOCK-3]: a
 * broker killed a moment ago holds it until Postgres notices its connection is gone (its backend
 * may be mid-statement), and a restart at once must not fail for that.
 */
export const POSTGRES_LOCK_WAIT_MS = 5_000;
/** How often the held lock is tried again within POSTGRES_LOCK_WAIT_MS. */
export const POSTGRES_LOCK_RETRY_MS = 100;
/** A publish waits at most this long for the database: then 503, never an unbounded hang. */
export const POSTGRES_WRITE_TIMEOUT_MS = 5_000;
/** Rows per INSERT: group commit under load; the statement stays a few MB at most. */
export const POSTGRES_MAX_BATCH_ROWS = 5_000;
/** Bytes per INSERT: far below Postgres' 1 GB message limit even with 1 MB payloads. */
export const POSTGRES_MAX_BATCH_BYTES = 16 << 20;
/** What a row costs in an INSERT besides its body and key (ids, names, headers, numbers), for POSTGRES_MAX_BATCH_BYTES. */
export const POSTGRES_ROW_OVERHEAD_BYTES = 128;
/** Rows per DELETE at checkpoint: a few ms each, so appends never wait behind a long statement. */
export const POSTGRES_DELETE_BATCH_ROWS = 10_000;
