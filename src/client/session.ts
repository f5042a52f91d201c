import type { Connection } from "./connection.ts";
import { ClientErrorCodes, PubsubError } from "./errors.ts";
import type { ConsumerFields, Message } from "./wire.ts";

/** A subscription or a consumer: lives on the client's connection and is re-attached each time it reopens. */
export interface Session {
  readonly queue: string;
  /** A socket opened: declare the queue if asked to, then SUBSCRIBE or CONSUME on it. */
  attach(): void;
  /** A MESSAGE frame for this session's queue. */
  deliver(frame: Message & Partial<ConsumerFields>): void;
  /** Ends the session for good; `error` says why when it was not the owner's choice. */
  end(error: PubsubError | undefined): void;
  /** The client's re-declare made the queue anew (ClientOptions.redeclare): its seqs start over. */
  queueRecreated?(): void;
}

/** What a session needs from the client that owns it. */
export type SessionContext = {
  readonly connection: Connection;
  /** An error with nobody else to tell: a handler threw and the session has no onError. */
  readonly report: (error: unknown) => void;
  /** The session ended: forget it. */
  readonly remove: (session: Session) => void;
};

/** A promise with its settling functions, for answers that come from a frame later on. */
export type Deferred<T> = { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void; settled: boolean };

export function deferred<T>(): Deferred<T> {
  const d = { settled: false } as Deferred<T>;
  d.promise = new Promise<T>((resolve, reject) => {
    d.resolve = (value) => {
      d.settled = true;
      resolve(value);
    };
    d.reject = (error) => {
      d.settled = true;
      reject(error);
    };
  });
  // Rejection is how the owner hears of it; an owner that does not listen must not crash the process.
  d.promise.catch(() => {});
  return d;
}

/** Errors after which the next socket re-attaches the session; any other error ends it. */
export const isTransient = (error: unknown): boolean =>
  error instanceof PubsubError && (error.code === ClientErrorCodes.CONNECTION_LOST || error.code === ClientErrorCodes.CLOSED);

/** Sends DECLARE_QUEUE for the session's queue; resolves with whether the broker made it just now. */
export async function declareOn(connection: Connection, queue: string, declare: Record<string, unknown>): Promise<boolean> {
  const answer = await connection.request("DECLARE_QUEUE", { ...declare, name: queue });
  return answer.type === "QUEUE_DECLARED" && answer.payload.created;
}

export const notAttached = (queue: string): PubsubError =>
  new PubsubError(ClientErrorCodes.CLOSED, `the subscription to "${queue}" was closed`);
