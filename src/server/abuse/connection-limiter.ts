/**
 * Counts open connections, in all and per remote address, and refuses one past either bound
 * (MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS). Pure bookkeeping: the transport asks before it
 * accepts a connection and releases when it closes.
 */
import { addressKey } from "./address.ts";
import { AbuseCodes } from "./limits.ts";

export type ConnectionLimits = {
  /** Open connections in all; 0: no limit. */
  readonly maxTotal: number;
  /** Open connections per address (IPv4-mapped IPv6 counts as its IPv4); 0: no limit. */
  readonly maxPerAddress: number;
};

export type ConnectionRefusalReason = "max_connections" | "max_connections_per_address";

/** Held by an open connection. release() gives its place back; calling it again does nothing. */
export type ConnectionTicket = { readonly ok: true; release(): void };
export type ConnectionRefusal = {
  readonly ok: false;
  readonly reason: ConnectionRefusalReason;
  readonly code: typeof AbuseCodes.CONNECTION_LIMIT;
  readonly message: string;
};

export type ConnectionLimiterStats = {
  /** Connections holding a ticket now. */
  readonly open: number;
  /** Distinct addresses with an open connection now. */
  readonly addresses: number;
  /** Connections refused since start, by reason; never goes down. */
  readonly refused_total: Readonly<Record<ConnectionRefusalReason, number>>;
};

export class ConnectionLimiter {
  private open = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly refused: Record<ConnectionRefusalReason, number> = { max_connections: 0, max_connections_per_address: 0 };

  constructor(private readonly limits: ConnectionLimits) {}

  /**
   * A ticket when both bounds leave room, counted at once; otherwise a refusal, counted in stats.
   * An unknown address (undefined, a unix socket) counts toward the total only.
   */
  tryOpen(address: string | null | undefined): ConnectionTicket | ConnectionRefusal {
    const { maxTotal, maxPerAddress } = this.limits;
    if (maxTotal > 0 && this.open >= maxTotal) {
      return this.refuse("max_connections", `the broker has its most connections open (${maxTotal})`);
    }
    const key = addressKey(address);
    const held = key === undefined ? 0 : (this.perAddress.get(key) ?? 0);
    if (key !== undefined && maxPerAddress > 0 && held >= maxPerAddress) {
      return this.refuse("max_connections_per_address", `${key} has its most connections open (${maxPerAddress})`);
    }
    this.open++;
    if (key !== undefined) this.perAddress.set(key, held + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.open--;
        if (key === undefined) return;
        const left = (this.perAddress.get(key) ?? 1) - 1;
        if (left === 0) this.perAddress.delete(key);
        else this.perAddress.set(key, left);
      },
    };
  }

  /** Open connections from this address now. */
  openFrom(address: string | null | undefined): number {
    const key = addressKey(address);
    return key === undefined ? 0 : (this.perAddress.get(key) ?? 0);
  }

  stats(): ConnectionLimiterStats {
    return { open: this.open, addresses: this.perAddress.size, refused_total: { ...this.refused } };
  }

  private refuse(reason: ConnectionRefusalReason, message: string): ConnectionRefusal {
    this.refused[reason]++;
    return { ok: false, reason, code: AbuseCodes.CONNECTION_LIMIT, message };
  }
}
