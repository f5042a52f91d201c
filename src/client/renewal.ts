import { renewalAt, type Tokens } from "./tokens.ts";

/**
 * A broker that keeps asking is not answered more often than this: a source whose tokens all
 * expire within the broker's 30 s notice would otherwise be asked, and AUTH sent, in a loop.
 */
export const MIN_RENEWAL_INTERVAL_MS = 5_000;

/**
 * Renews the token of one authenticated socket with AUTH on the same socket: when the broker sends
 * TOKEN_EXPIRING, and on its own before the token's exp (renewalAt). A source that gives the token
 * the socket already has is not sent again: the broker then closes at exp (4011) and the reconnect
 * asks the source anew. A refused renewal is reported; the socket lives on until that exp.
 */
export class Renewal {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private stopped = false;
  private lastAt = -Infinity;

  constructor(
    private readonly tokens: Tokens,
    /** Sends AUTH with the token; resolves with the broker's `expires_at` (null for an API key). */
    private readonly authenticate: (token: string) => Promise<number | null>,
    private readonly report: (error: unknown) => void,
    private token: string,
    private expiresAt: number | null,
    private readonly now: () => number = Date.now,
  ) {
    this.arm(this.now());
  }

  /** TOKEN_EXPIRING: the broker will close at `expiresAt` unless a new token comes. */
  notice(expiresAt: number | undefined): void {
    // A notice about a token already replaced (it crossed our own renewal) asks for nothing.
    if (expiresAt !== undefined && this.expiresAt !== null && expiresAt < this.expiresAt) return;
    this.soon();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(obtainedAt: number): void {
    clearTimeout(this.timer);
    if (this.expiresAt === null || !this.tokens.renewable || this.stopped) return;
    this.timer = setTimeout(() => this.soon(), Math.max(0, renewalAt(obtainedAt, this.expiresAt) - this.now()));
  }

  private soon(): void {
    if (this.running || this.stopped || !this.tokens.renewable) return;
    clearTimeout(this.timer);
    const wait = this.lastAt + MIN_RENEWAL_INTERVAL_MS - this.now();
    if (wait > 0) this.timer = setTimeout(() => void this.renew(), wait);
    else void this.renew();
  }

  private async renew(): Promise<void> {
    this.running = true;
    this.lastAt = this.now();
    try {
      const token = await this.tokens.fresh();
      if (this.stopped || token === this.token) return;
      const expiresAt = await this.authenticate(token);
      if (this.stopped) return;
      this.token = token;
      this.expiresAt = expiresAt;
      this.arm(this.now());
    } catch (error) {
      if (!this.stopped) this.report(error);
    } finally {
      this.running = false;
    }
  }
}
