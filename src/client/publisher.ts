import type { Connection } from "./connection.ts";
import { brokerError, ClientErrorCodes, PubsubError } from "./errors.ts";
import type { InboundFrame, PublishFields } from "./wire.ts";

/** The broker's CONFIRM: the message is committed for every durable queue it reached. */
export type Confirm = {
  /** Queues the message reached (0 for a duplicate). */
  routed: number;
  /** The broker had seen this `message_id` within its dedup window: confirmed, not enqueued again. */
  duplicate: boolean;
};

type Pending = {
  readonly text: string;
  readonly resolve: (confirm: Confirm) => void;
  readonly reject: (error: PubsubError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  /** The connection epoch it was last sent on; undefined while it waits for a socket. */
  sentOn: number | undefined;
};

/** Codes after which the same publish is sent again on the next socket rather than refused. */
const RETRIED = new Set<string>(["SHUTTING_DOWN"]);

/**
 * Publishes over the WebSocket with confirms, many in flight. Each publish carries a `message_id`
 * (the caller's, or a random one), so one whose CONFIRM was lost with a dropped socket is sent
 * again on the next one without the broker enqueueing it twice (README: idempotent publish). It
 * stays pending until confirmed, refused, timed out, or the client closes.
 */
export class Publisher {
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private emptied: Array<() => void> = [];
  /** While held, publishes wait for `opened` instead of going out (the client re-declares first). */
  private held = false;

  constructor(
    private readonly connection: Connection,
    private readonly confirmTimeoutMs: number,
  ) {}

  get outstanding(): number {
    return this.pending.size;
  }

  publish(exchange: string, key: string, payload: unknown, fields: PublishFields): Promise<Confirm> {
    const id = `p${++this.nextId}`;
    const frame = { exchange_name: exchange, key, payload, ...fields, message_id: fields.message_id ?? randomId(), id };
    const text = JSON.stringify({ type: "PUBLISH", payload: frame });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle(id, new PubsubError(ClientErrorCodes.TIMEOUT, `publish to "${exchange}" not confirmed within ${this.confirmTimeoutMs} ms; retrying with message_id ${frame.message_id} is safe`)),
        this.confirmTimeoutMs,
      );
      const entry: Pending = { text, resolve, reject, timer, sentOn: undefined };
      this.pending.set(id, entry);
      if (!this.held && this.connection.send(text)) entry.sentOn = this.connection.epoch;
      else this.connection.ensure();
    });
  }

  /** Publishes wait until the next `opened`: the topology they route through is being declared again. */
  hold(): void {
    this.held = true;
  }

  /** A socket opened (and what they route through is declared): send, in their order, the publishes not yet sent on it. */
  opened(epoch: number): void {
    this.held = false;
    for (const entry of this.pending.values()) {
      if (entry.sentOn === epoch) continue;
      if (!this.connection.send(entry.text)) return;
      entry.sentOn = epoch;
    }
  }

  /** Takes a CONFIRM or an ERROR naming one of ours; false for any other frame. */
  frame(frame: InboundFrame): boolean {
    if (frame.type !== "CONFIRM" && frame.type !== "ERROR") return false;
    const id = frame.payload.id;
    const entry = typeof id === "string" ? this.pending.get(id) : undefined;
    if (entry === undefined || typeof id !== "string") return false;
    if (frame.type === "CONFIRM") this.settle(id, { routed: frame.payload.routed, duplicate: frame.payload.duplicate === true });
    else if (RETRIED.has(frame.payload.code)) entry.sentOn = undefined;
    else this.settle(id, brokerError(frame.payload));
    return true;
  }

  /** Nothing will send them: every pending publish fails with `error`. */
  failAll(error: PubsubError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, error);
  }

  /** Resolves once no publish is pending. */
  drained(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  private settle(id: string, outcome: Confirm | PubsubError): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (outcome instanceof PubsubError) entry.reject(outcome);
    else entry.resolve(outcome);
    if (this.pending.size > 0) return;
    const waiting = this.emptied;
    this.emptied = [];
    for (const resolve of waiting) resolve();
  }
}

/** 128 random bits as hex. getRandomValues, unlike randomUUID, exists on plain-http pages too. */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
