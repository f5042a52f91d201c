/** How many of a subscription's latest seqs are remembered to drop a redelivery after a broker crash. */
export const DEFAULT_DEDUPE_WINDOW = 10_000;

/**
 * The seqs a subscription has handed to its handler, the last `capacity` of them. Seqs are never
 * reused within a queue, so a seq seen again is a redelivery (README, Guarantees: a durable message
 * sent to subscribers but not yet checkpointed when the broker crashes is delivered again).
 */
export class SeenSeqs {
  private readonly seqs = new Set<number>();
  private readonly order: number[] = [];
  private next = 0;
  /** The highest seq seen: where a resume starts. */
  last: number | undefined;

  constructor(private readonly capacity: number) {}

  /** Records the seq; false when it was seen already. */
  add(seq: number): boolean {
    if (this.seqs.has(seq)) return false;
    if (this.capacity > 0) {
      if (this.order.length < this.capacity) this.order.push(seq);
      else {
        this.seqs.delete(this.order[this.next]!);
        this.order[this.next] = seq;
        this.next = (this.next + 1) % this.capacity;
      }
      this.seqs.add(seq);
    }
    if (this.last === undefined || seq > this.last) this.last = seq;
    return true;
  }

  /** The queue was made anew (its seqs start over): forget everything. */
  reset(): void {
    this.seqs.clear();
    this.order.length = 0;
    this.next = 0;
    this.last = undefined;
  }
}
