/**
 * The crash tests' clients: a publisher that keeps a window of confirmed publishes in flight, and
 * consumers that ack every delivery. Both write what they see into a Ledger and never retry: after
 * a crash an unconfirmed number is simply never sent again, so each n names one publish.
 */
import type { Ledger } from "./ledger.ts";

/** Opens a WebSocket and resolves once it is open; rejects if it cannot connect. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`could not open ${url}`));
  });
}

const closedPromise = (ws: WebSocket): Promise<number> =>
  new Promise((resolve) => ws.addEventListener("close", (event) => resolve(event.code)));

/** Sending on a socket the broker just dropped is not an error worth failing over: the frame is lost, as over a real network. */
function trySend(ws: WebSocket, frame: unknown): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  try {
    ws.send(JSON.stringify(frame));
    return true;
  } catch {
    return false;
  }
}

/** How long a publisher held back by `maxAhead` waits before it looks again. */
const AHEAD_RECHECK_MS = 5;

export type PublisherLimits = {
  /** Publishes sent and not yet answered, at most. */
  window: number;
  /** Publishes sent beyond the deliveries seen, at most: keeps the backlog (and each restart's restore) bounded. */
  maxAhead: number;
};

/** Publishes {n} with id n to the default exchange, within its limits, until stopped or disconnected. */
export class ConfirmingPublisher {
  private inFlight = 0;
  private stopped = false;
  private recheck: ReturnType<typeof setTimeout> | undefined;
  readonly closed: Promise<number>;

  private constructor(
    private readonly ws: WebSocket,
    private readonly queue: string,
    private readonly ledger: Ledger,
    private readonly limits: PublisherLimits,
  ) {
    this.closed = closedPromise(ws);
    ws.onmessage = (event) => this.onFrame(JSON.parse(String(event.data)));
  }

  static async start(url: string, queue: string, ledger: Ledger, limits: PublisherLimits): Promise<ConfirmingPublisher> {
    const publisher = new ConfirmingPublisher(await connect(url), queue, ledger, limits);
    void publisher.closed.then(() => publisher.stop());
    publisher.fill();
    return publisher;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.recheck);
  }

  close(): void {
    this.stop();
    this.ws.close();
  }

  private fill(): void {
    while (!this.stopped && this.inFlight < this.limits.window) {
      if (this.ledger.nextN - this.ledger.received.length >= this.limits.maxAhead) {
        this.recheck ??= setTimeout(() => {
          this.recheck = undefined;
          this.fill();
        }, AHEAD_RECHECK_MS);
        return;
      }
      const n = this.ledger.nextN++;
      if (!trySend(this.ws, { type: "PUBLISH", payload: { exchange_name: "", key: this.queue, payload: { n }, id: n } })) {
        this.stopped = true;
        return;
      }
      this.inFlight++;
    }
  }

  private onFrame(frame: { type: string; payload?: { id?: number; code?: string } }): void {
    const id = frame.payload?.id;
    if (frame.type === "CONFIRM" && typeof id === "number") {
      this.ledger.confirmed.add(id);
    } else if (frame.type === "ERROR" && typeof id === "number") {
      const code = frame.payload?.code ?? "?";
      this.ledger.refused.set(id, code);
      // Refused while the broker stops (SIGTERM): expected, and no reason to keep trying.
      if (code === "SHUTTING_DOWN") this.stopped = true;
      else this.ledger.unexpected.push(`publish ${id} refused: ${JSON.stringify(frame.payload)}`);
    } else {
      this.ledger.unexpected.push(`publisher got ${JSON.stringify(frame).slice(0, 200)}`);
      return;
    }
    this.inFlight--;
    this.fill();
  }
}

/** CONSUMEs with the given prefetch and acks each delivery as soon as it arrives. */
export class AckingConsumer {
  readonly closed: Promise<number>;
  received = 0;

  private constructor(
    private readonly ws: WebSocket,
    private readonly ledger: Ledger,
    private readonly run: number,
    readonly connection: string,
  ) {
    this.closed = closedPromise(ws);
  }

  /** Resolves once the broker answered CONSUMING: from then on the queue's messages come here. */
  static async start(url: string, queue: string, prefetch: number, ledger: Ledger, run: number, connection: string): Promise<AckingConsumer> {
    const ws = await connect(url);
    const consumer = new AckingConsumer(ws, ledger, run, connection);
    const consuming = new Promise<void>((resolve, reject) => {
      ws.onmessage = (event) => consumer.onFrame(JSON.parse(String(event.data)), resolve);
      void consumer.closed.then(() => reject(new Error(`consumer ${connection} closed before CONSUMING`)));
    });
    trySend(ws, { type: "CONSUME", payload: { queue_name: queue, prefetch, id: connection } });
    await consuming;
    return consumer;
  }

  close(): void {
    this.ws.close();
  }

  private onFrame(frame: any, consuming: () => void): void {
    switch (frame.type) {
      case "MESSAGE":
        this.received++;
        this.ledger.received.push({
          n: frame.body?.n,
          seq: frame.seq,
          redelivered: frame.redelivered,
          deliveryCount: frame.delivery_count,
          run: this.run,
          connection: this.connection,
        });
        trySend(this.ws, { type: "ACK", payload: { delivery_tag: frame.delivery_tag } });
        return;
      case "CONSUMING":
        return consuming();
      default:
        this.ledger.unexpected.push(`consumer ${this.connection} got ${JSON.stringify(frame).slice(0, 200)}`);
    }
  }
}
