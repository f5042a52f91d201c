/**
 * The subscriber frame's UTF-8 length, counted from its parts (what the fan-out's unseen-bytes
 * budget and SLOW-1's limits rest on), is the frame's real length, whatever it holds.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { newEntry } from "../../src/core/queue/entry.ts";
import type { PublishedMessage } from "../../src/core/message.ts";
import { deliveryFrame, lastFrameBytes } from "../../src/server/frames.ts";

const message = (body: unknown, exchange: string, routingKey: string, headers: Record<string, unknown>): PublishedMessage => ({
  id: crypto.randomUUID(),
  exchange,
  routingKey,
  headers: headers as PublishedMessage["headers"],
  body: JSON.stringify(body),
  timestamp: 1_800_000_000_123,
});

test("lastFrameBytes is Buffer.byteLength of the frame: non-ASCII bodies, names and headers, any seq, one message to several queues", () => {
  fc.assert(
    fc.property(
      fc.jsonValue(),
      fc.string({ unit: "binary" }),
      fc.string({ unit: "grapheme" }),
      fc.dictionary(fc.string(), fc.oneof(fc.string({ unit: "grapheme" }), fc.integer())),
      fc.array(fc.tuple(fc.string({ unit: "grapheme", minLength: 1 }), fc.nat()), { minLength: 1, maxLength: 4 }),
      (body, exchange, key, headers, queues) => {
        const m = message(body, exchange, key, headers);
        for (const [name, seq] of queues) {
          const queue = { name };
          const entry = newEntry(seq, m, 0, true, undefined, {});
          const frame = deliveryFrame(queue, entry);
          expect(lastFrameBytes(queue, entry)).toBe(Buffer.byteLength(frame));
          // Still a frame a client parses, with the fields it names.
          expect(JSON.parse(frame)).toMatchObject({ type: "MESSAGE", unique_id: m.id, queue: name, seq });
        }
      },
    ),
    { numRuns: 300 },
  );
});
