/**
 * The transport's limits, each with its reason (the config defaults are in src/config.ts).
 */

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

/** How long a browser may cache a CORS preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;
