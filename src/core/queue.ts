/**
 * The queue package (src/core/queue/): one queue's state machine, the effects its commands return,
 * its entries, its ready list and its history. Import from here.
 */
export { QueueState, type PagedRow, type QueueOptions, type StoredBacklog, type StoredReplay } from "./queue/queue.ts";
export type { PageRequest } from "./queue/tail.ts";
export { NO_EFFECTS, type Effect, type Effects } from "./queue/effects.ts";
export type { DeathReason, EnqueueOptions, Entry, RestoreFlags } from "./queue/entry.ts";
export type { MemoryGauge, Replay } from "./queue/history.ts";
