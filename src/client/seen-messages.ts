/** How many of a subscription's latest messages are remembered to drop a redelivery after a broker crash. */
export const DEFAULT_DEDUPE_WINDOW = 10_000;

/**
 * The messages a subscription received, the last `capacity` of them, by seq and unique_id. The
 * broker sends a message again after a crash (README, Guarantees: sent to subscribers but not yet
 * checkpointed) with the same seq and id: that is what is dropped. The seq alone would not do: a
 * message delivered ahead of its commit and lost in a crash leaves its seq to the next message.
 */
export class SeenMessages {
  private readonly keys = new Set<string>();
  private readonly order: string[] = [];
  private next = 0;
  /** The seq of the message received last: where a resume starts. */
  last: number | undefined;

  constructor(private readonly capacity: number) {}

  /** Records the message; false when it was received already. */
  add(seq: number, id: string): boolean {
    const key = `${seq}:${id}`;
    if (this.keys.has(key)) return false;
    if (this.capacity > 0) {
      if (this.order.length < this.capacity) this.order.push(key);
      else {
        this.keys.delete(this.order[this.next]!);
        this.order[this.next] = key;
        this.next = (this.next + 1) % this.capacity;
      }
      this.keys.add(key);
    }
    this.last = seq;
    return true;
  }

  /** The queue was made anew (its seqs start over): forget everything. */
  reset(): void {
    this.keys.clear();
    this.order.length = 0;
    this.next = 0;
    this.last = undefined;
  }
}
