/** Publishing through the HTTP API from tests: many at once, or a steady load to stop later. */
import { api } from "../support/broker-process.ts";

export type Answer = { status: number; code: string | undefined; id: string | undefined };

/** One publish to `queue` through the default exchange. */
export async function publish(base: string, queue: string, payload: unknown): Promise<Answer> {
  try {
    const res = await api(base, "POST", "/publish", { exchange_name: "", key: queue, payload });
    return { status: res.status, code: res.body?.error?.code, id: res.body?.id };
  } catch {
    return { status: 0, code: "NETWORK", id: undefined };
  }
}

/** Publishes payloads 0…count-1 with `inFlight` requests outstanding; answers in payload order. */
export async function publishMany(base: string, queue: string, count: number, inFlight = 64): Promise<Answer[]> {
  const answers: Answer[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) answers[i] = await publish(base, queue, i);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return answers;
}

/** Workers publishing numbered payloads until stopped; remembers every answer. */
export class PublishLoad {
  readonly answers = new Map<number, Answer>();
  private next = 0;
  private running = true;
  private readonly done: Promise<void[]>;

  constructor(
    private readonly base: string,
    private readonly queue: string,
    workers: number,
  ) {
    this.done = Promise.all(Array.from({ length: workers }, () => this.work()));
  }

  private async work(): Promise<void> {
    while (this.running) {
      const i = this.next++;
      const answer = await publish(this.base, this.queue, i);
      this.answers.set(i, answer);
      // A refused publish comes back at once: do not spin on it.
      if (answer.status !== 200) await Bun.sleep(5);
    }
  }

  count(status: number): number {
    let n = 0;
    for (const a of this.answers.values()) if (a.status === status) n++;
    return n;
  }

  /** Payloads answered 200: the ones that must survive anything. */
  answeredOk(): number[] {
    return [...this.answers].filter(([, a]) => a.status === 200).map(([i]) => i);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}
