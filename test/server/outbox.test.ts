/**
 * [CORK-1] Answers sent outside a socket's handler wait for the end of the microtask run and go out
 * corked, one write per socket, in the order they were sent; a close can have them written first.
 */
import { expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { Outbox } from "../../src/server/outbox.ts";

type Fake = { readyState: number; sent: string[]; corks: number; corked: boolean };

function fakeSocket(): Fake & ServerWebSocket<unknown> {
  const socket: Fake = { readyState: 1, sent: [], corks: 0, corked: false };
  return Object.assign(socket, {
    send(frame: string) {
      socket.sent.push(socket.corked ? `corked:${frame}` : frame);
      return frame.length;
    },
    getBufferedAmount: () => 0,
    cork(callback: () => void) {
      socket.corks++;
      socket.corked = true;
      try {
        callback();
      } finally {
        socket.corked = false;
      }
    },
  }) as unknown as Fake & ServerWebSocket<unknown>;
}

test("[CORK-1] frames from one microtask run go out at its end, one cork per socket, in order", async () => {
  const outbox = new Outbox<unknown>();
  const a = fakeSocket();
  const b = fakeSocket();
  // As the CONFIRMs of one group commit: promise callbacks of one run.
  await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      Promise.resolve().then(() => {
        outbox.send(a, `a${i}`);
        if (i % 2 === 0) outbox.send(b, `b${i}`);
        // Nothing is written while the run goes on.
        expect(a.sent).toEqual([]);
      }),
    ),
  );
  expect(a.sent).toEqual(["corked:a0", "corked:a1", "corked:a2", "corked:a3", "corked:a4"]);
  expect(b.sent).toEqual(["corked:b0", "corked:b2", "corked:b4"]);
  expect([a.corks, b.corks]).toEqual([1, 1]);
  // The next run starts afresh.
  outbox.send(a, "again");
  await Promise.resolve();
  expect(a.sent.at(-1)).toBe("again");
});

test("[CORK-1] flush writes one socket's frames at once (before a close); a closed socket's are dropped", () => {
  const outbox = new Outbox<unknown>();
  const open = fakeSocket();
  const closed = fakeSocket();
  outbox.send(open, "confirm-1");
  outbox.send(open, "confirm-2");
  outbox.send(closed, "lost");
  outbox.flush(open);
  expect(open.sent).toEqual(["corked:confirm-1", "corked:confirm-2"]);
  closed.readyState = 3;
  outbox.flushAll();
  expect(closed.sent).toEqual([]);
  // Nothing twice: what flush wrote is gone from the outbox.
  outbox.flushAll();
  expect(open.sent).toHaveLength(2);
});
