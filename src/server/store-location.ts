import type { Caller } from "./access.ts";

/** What a caller who is no administrator reads instead of the store's location. */
export const LOCATION_HIDDEN = "(shown to administrators)";

/**
 * [AUTH-10] The database file's path or the Postgres host and database tell an attacker where to
 * aim; RabbitMQ shows node paths to its monitoring and administrator users only. Any caller may
 * read /overview and /metrics/json (a dashboard user sees the totals), an administrator the location
 * (and the watched disk's path) too.
 */
export function forCaller<T extends { store: { location: string }; disk?: { path: string | null } | null }>(snapshot: T, caller: Caller | undefined): T {
  if (caller?.admin === true) return snapshot;
  const hidden = { ...snapshot, store: { ...snapshot.store, location: LOCATION_HIDDEN } };
  // The watched directory (DISK-1) is the database's too.
  return snapshot.disk == null || snapshot.disk.path === null ? hidden : { ...hidden, disk: { ...snapshot.disk, path: LOCATION_HIDDEN } };
}
