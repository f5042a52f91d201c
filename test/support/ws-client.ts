/** A WebSocket client for tests: collects every frame and lets a test await the ones it wants. */
export class TestSocket {
  readonly frames: any[] = [];
  closeCode: number | undefined;
  closeReason: string | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (event) => {
      this.frames.push(JSON.parse(String(event.data)));
      this.wake();
    };
    ws.onclose = (event) => {
      this.closeCode = event.code;
      this.closeReason = event.reason;
      this.wake();
    };
  }

  static open(url: string, headers?: Record<string, string>): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, headers ? ({ headers } as never) : undefined);
      const socket = new TestSocket(ws);
      ws.onopen = () => resolve(socket);
      ws.onerror = () => reject(new Error(`could not open ${url}`));
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  subscribe(queue: string): void {
    this.send({ type: "SUBSCRIBE", payload: { queue_name: queue } });
  }

  messages(): any[] {
    return this.frames.filter((f) => f.type === "MESSAGE");
  }

  /** Waits until `predicate(frames)` holds; fails after `ms`. */
  async until(predicate: (frames: any[]) => boolean, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this.frames)) {
      if (Date.now() > deadline) {
        throw new Error(`timed out; frames so far: ${JSON.stringify(this.frames).slice(0, 500)}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  untilMessages(count: number, ms?: number): Promise<void> {
    return this.until(() => this.messages().length >= count, ms);
  }

  async untilClosed(ms = 5_000): Promise<number> {
    await this.until(() => this.closeCode !== undefined, ms);
    return this.closeCode!;
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
