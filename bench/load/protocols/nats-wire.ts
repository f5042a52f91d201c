/**
 * A bare NATS protocol subscriber over one TCP socket (CONNECT, SUB, PING/PONG, MSG), for holding
 * thousands of connections in one process: the `nats` client keeps timers, parsers and promises
 * per connection, which is fine for a few and too much for 10,000 idle ones.
 */
import type { Socket } from "bun";
import type { PayloadListener, Subscriber } from "./roles.ts";

const CRLF = Buffer.from("\r\n");
const OPEN_TIMEOUT_MS = 10_000;

export function openNatsWireSubscriber(host: string, port: number, subject: string, onPayload?: PayloadListener): Promise<Subscriber> {
  let received = 0;
  let firstDelivery: string | null = null;
  let closed = false;
  let pending: Buffer | null = null;
  let socket: Socket<undefined> | null = null;
  return new Promise((resolve, reject) => {
    let subscribed = false;
    const timer = setTimeout(() => fail(new Error("no PONG to SUB within 10 s")), OPEN_TIMEOUT_MS);
    const fail = (error: Error) => {
      closed = true;
      clearTimeout(timer);
      if (!subscribed) reject(error);
      socket?.end();
    };
    const subscriber: Subscriber = {
      get received() {
        return received;
      },
      get firstDelivery() {
        return firstDelivery;
      },
      get closed() {
        return closed;
      },
      async close() {
        closed = true;
        socket?.end();
      },
    };
    const onData = (chunk: Buffer) => {
      let bytes = pending ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      while (at < bytes.length) {
        const lineEnd = bytes.indexOf(CRLF, at);
        if (lineEnd < 0) break;
        const op = bytes[at];
        if (op === 0x4d /* M */) {
          const line = bytes.toString("latin1", at, lineEnd);
          const size = Number(line.slice(line.lastIndexOf(" ") + 1));
          const start = lineEnd + 2;
          if (bytes.length < start + size + 2) break;
          const data = bytes.subarray(start, start + size);
          received++;
          if (firstDelivery === null) firstDelivery = data.toString("utf8");
          onPayload?.(data);
          at = start + size + 2;
          continue;
        }
        if (op === 0x50 /* P */) {
          if (bytes[at + 1] === 0x49 /* PING */) socket?.write("PONG\r\n");
          else if (!subscribed) {
            // PONG: the server has processed CONNECT and SUB.
            subscribed = true;
            clearTimeout(timer);
            resolve(subscriber);
          }
        } else if (op === 0x2d /* -ERR */) {
          fail(new Error(bytes.toString("latin1", at, lineEnd)));
        }
        at = lineEnd + 2;
      }
      pending = at < bytes.length ? Buffer.from(bytes.subarray(at)) : null;
      bytes = Buffer.alloc(0);
    };
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(s) {
          socket = s;
          s.write(`CONNECT {"verbose":false,"pedantic":false,"protocol":1,"name":"bench"}\r\nSUB ${subject} 1\r\nPING\r\n`);
        },
        data: (_s, chunk) => onData(chunk),
        close: () => fail(new Error("connection closed")),
        error: (_s, error) => fail(error),
      },
    }).catch(fail);
  });
}
