import { LEADER_SILENT_MS } from "./limits.ts";

/** What the leader announces over NATS: who it is, where it is reached, and the token that proves a forward comes from this cluster. */
export type Leader = { readonly node: string; readonly url: string; readonly token: string; readonly since: number };

/**
 * [CLUSTER-1] A follower's idea of who leads: the last announcement heard, until the leader falls
 * silent. Two announcing at once (an old leader that has not yet found its lock gone) are told
 * apart by `since`: the later leadership wins, the earlier one is about to stop.
 */
export class LeaderView {
  private leader: Leader | undefined;
  private heardAt = 0;
  private readonly listeners = new Set<(leader: Leader | undefined) => void>();

  constructor(private readonly clock: { now(): number }, private readonly silentMs = LEADER_SILENT_MS) {}

  /** An announcement: a new leader is taken (and listeners told), the known one's silence reset. */
  hear(announced: Leader): void {
    const current = this.current();
    if (current !== undefined && current.token !== announced.token && announced.since < current.since) return;
    this.heardAt = this.clock.now();
    if (current?.token === announced.token) return;
    this.leader = announced;
    for (const listener of this.listeners) listener(announced);
  }

  /** The leader, unless it has been silent past `silentMs`. */
  current(): Leader | undefined {
    if (this.leader !== undefined && this.clock.now() - this.heardAt > this.silentMs) {
      this.leader = undefined;
      for (const listener of this.listeners) listener(undefined);
    }
    return this.leader;
  }

  /** Told each time the leader changes, or is forgotten (undefined). */
  onChange(listener: (leader: Leader | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** An announcement off the wire, or undefined if it is not one. */
export function parseLeader(data: string): Leader | undefined {
  try {
    const value = JSON.parse(data) as Partial<Leader>;
    if (typeof value.node === "string" && typeof value.url === "string" && typeof value.token === "string" && typeof value.since === "number") {
      return { node: value.node, url: value.url, token: value.token, since: value.since };
    }
  } catch {
    // not ours
  }
  return undefined;
}
