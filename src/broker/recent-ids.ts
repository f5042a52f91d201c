/**
 * Publishers' message ids seen within the de-duplication window, each with the id the broker gave
 * that message (a duplicate is answered with it). Insertion order is expiry order (a fixed window),
 * so pruning stops at the first id still inside it.
 */
export class RecentIds {
  private readonly seenIds = new Map<string, { readonly until: number; readonly id: string }>();

  /** The original message's id, while `messageId` is inside its window; else undefined. */
  originalId(messageId: string, now: number): string | undefined {
    const seen = this.seenIds.get(messageId);
    return seen !== undefined && seen.until > now ? seen.id : undefined;
  }

  remember(messageId: string, until: number, id: string): void {
    this.seenIds.delete(messageId); // re-insert at the end, keeping expiry order
    this.seenIds.set(messageId, { until, id });
  }

  forget(messageId: string): void {
    this.seenIds.delete(messageId);
  }

  prune(now: number): void {
    for (const [messageId, { until }] of this.seenIds) {
      if (until > now) break;
      this.seenIds.delete(messageId);
    }
  }

  get size(): number {
    return this.seenIds.size;
  }
}
