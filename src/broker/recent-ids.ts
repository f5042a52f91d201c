/**
 * Publishers' message ids seen within the de-duplication window. Insertion order is expiry order
 * (a fixed window), so pruning stops at the first id still inside it.
 */
export class RecentIds {
  private readonly until = new Map<string, number>();

  seen(messageId: string, now: number): boolean {
    const until = this.until.get(messageId);
    return until !== undefined && until > now;
  }

  remember(messageId: string, until: number): void {
    this.until.delete(messageId); // re-insert at the end, keeping expiry order
    this.until.set(messageId, until);
  }

  forget(messageId: string): void {
    this.until.delete(messageId);
  }

  prune(now: number): void {
    for (const [id, until] of this.until) {
      if (until > now) break;
      this.until.delete(id);
    }
  }

  get size(): number {
    return this.until.size;
  }
}
