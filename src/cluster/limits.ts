/** [CLUSTER-1] The cluster's timings; the README's "Running a cluster" explains the failover bound they give. */

/** The leader announces itself this often over NATS, after proving it still holds the database lock. */
export const LEADER_HEARTBEAT_MS = 500;
/** A follower forgets a leader it has not heard from for this long, and answers 503 until one announces. */
export const LEADER_SILENT_MS = 2_000;
/** A follower waiting for the lock tries to take it this often. */
export const LOCK_POLL_MS = 250;
/** An upgrade check's ticket is good for this long: the follower's socket to the leader opens at once. */
export const CLUSTER_TICKET_TTL_MS = 10_000;
/** Longest a follower waits for the leader's answer to a forwarded request (long polls and streams excepted). */
export const FORWARD_CONNECT_TIMEOUT_MS = 10_000;
