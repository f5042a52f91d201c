/**
 * [CLUSTER-1] The leader's side of forwarding: what a node of the same cluster may say about a
 * request it passes on. A follower proves it is one with the leader's token (announced over NATS,
 * new at each leadership); only then are its forwarded-for address and its WebSocket ticket
 * believed. Anyone else sending these headers is treated as the caller it is.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { CLUSTER_TICKET_TTL_MS } from "./limits.ts";

export const ForwardHeaders = {
  TOKEN: "x-pubsub-cluster-token",
  /** The original caller's address; empty when the follower had none. */
  FORWARDED_FOR: "x-pubsub-forwarded-for",
  /** On /ws: run the upgrade's checks and answer with a ticket instead of upgrading. */
  UPGRADE_CHECK: "x-pubsub-upgrade-check",
  /** On /ws: the ticket a check gave; the upgrade takes what the check decided. */
  TICKET: "x-pubsub-cluster-ticket",
} as const;

/** What an upgrade check decided, kept until the follower's own socket to the leader opens. */
type Ticket<T> = { readonly state: T; readonly timer: ReturnType<typeof setTimeout> };

export class Forwarded<T extends { release: () => void }> {
  readonly token = randomBytes(24).toString("base64url");
  private readonly tokenBytes = Buffer.from(this.token);
  private readonly tickets = new Map<string, Ticket<T>>();

  /** The caller's address when a node of this cluster forwarded the request; undefined when none did. */
  remoteOf(request: Request): { address: string | undefined } | undefined {
    const token = request.headers.get(ForwardHeaders.TOKEN);
    if (token === null) return undefined;
    const given = Buffer.from(token);
    if (given.length !== this.tokenBytes.length || !timingSafeEqual(given, this.tokenBytes)) return undefined;
    const address = request.headers.get(ForwardHeaders.FORWARDED_FOR);
    return { address: address === null || address === "" ? undefined : address };
  }

  /** Keeps an accepted upgrade's state; its connection slot is given back if no socket comes for it. */
  issue(state: T): string {
    const id = randomBytes(18).toString("base64url");
    const timer = setTimeout(() => {
      this.tickets.delete(id);
      state.release();
    }, CLUSTER_TICKET_TTL_MS);
    timer.unref?.();
    this.tickets.set(id, { state, timer });
    return id;
  }

  /** The state a check decided, once. */
  take(id: string): { state: T } | undefined {
    const ticket = this.tickets.get(id);
    if (ticket === undefined) return undefined;
    this.tickets.delete(id);
    clearTimeout(ticket.timer);
    return { state: ticket.state };
  }
}
