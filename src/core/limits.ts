/**
 * The domain's limits and defaults, each with its reason (nats-server's const.go). Core is pure:
 * these are numbers, never read from the environment; src/config.ts imports the defaults it exposes.
 */

// ---- names and keys ------------------------------------------------------------------------------

/** AMQP 0-9-1 carries names as a shortstr (one length byte), so 255 bytes is the most a peer can send. */
export const MAX_NAME_BYTES = 255;
/** Routing keys and binding keys are shortstr on the AMQP wire too. */
export const MAX_ROUTING_KEY_BYTES = 255;
/** A publisher's message_id is measured as names and keys are (bytes of UTF-8), so one rule holds for every stored text. */
export const MAX_MESSAGE_ID_BYTES = 255;

// ---- messages ------------------------------------------------------------------------------------

/** What a message costs besides its text: the entry, its fields and the maps that index it, roughly. */
export const MESSAGE_OVERHEAD_BYTES = 64;

// ---- queues --------------------------------------------------------------------------------------

/** RabbitMQ quorum queues' default: a poison message cannot loop forever. */
export const DEFAULT_DELIVERY_LIMIT = 20;
/** History is bounded: replay is for reconnects, not for a second copy of the queue. */
export const MAX_HISTORY_SIZE = 100_000;
/**
 * [SLOW-2] A durable queue keeps its last 1,000 messages for `since` replays unless declared
 * otherwise, so a subscriber cut for being slow (4008) or dropped by the network gets what it missed
 * when it resumes. That covers a cut at the default SUBSCRIBER_MAX_BUFFER_BYTES (16 MiB) for
 * messages of about 20 KB and up; smaller ones may need more. Bounded in memory: retained messages
 * count against MAX_QUEUED_BYTES, and are the first thing forgotten when it is reached. Transient
 * queues keep none by default, as before.
 */
export const DEFAULT_DURABLE_HISTORY_SIZE = 1_000;

// ---- consumers -----------------------------------------------------------------------------------

/** A consumer's unacknowledged messages at most: bounds what one socket can have buffered. */
export const MAX_PREFETCH = 10_000;
/** Enough in flight to hide a round trip, few enough that one slow consumer holds little. */
export const DEFAULT_PREFETCH = 10;

/** A delivery unacknowledged this long goes back to the queue (RabbitMQ's consumer_timeout, 30 min). */
export const DEFAULT_ACK_TIMEOUT_MS = 30 * 60_000;
/**
 * ACK_TIMEOUT_MS may be set from 100 ms (the broker's tick, below which the timeout is not kept)
 * to a week (past that, a held message is lost work rather than work in progress).
 */
export const ACK_TIMEOUT_MS_BOUNDS = { min: 100, max: 7 * 24 * 3_600_000 } as const;

/** [HIST-2] A durable queue's retained history (on disk) is bounded by this many bytes unless history_max_bytes says otherwise. */
export const DEFAULT_HISTORY_MAX_BYTES = 256 << 20;

// ---- paged durable queues --------------------------------------------------------------------------

/**
 * A durable queue holds at most this many ready messages in memory (its window); the rest wait on
 * disk and are read back, in order, as the window drains. Well above 4 consumers × prefetch 50.
 */
export const PAGE_WINDOW_MESSAGES = 2_048;
/** …and at most this many bytes of them. */
export const PAGE_WINDOW_BYTES = 4 << 20;
/** Rows per read from the store: ~1 ms of SQLite work for 1 KB messages, far under the ~10 ms stall budget. */
export const PAGE_READ_ROWS = 512;
/** Past MAX_QUEUED_BYTES a window takes only this many at a time, once it is empty: every queue still moves. */
export const PAGE_READ_ROWS_TIGHT = 16;
