import { expect, test } from "bun:test";
import { messageIds } from "../../src/broker/message-ids.ts";

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("message ids are UUIDs in form (version 8, RFC variant), all different", () => {
  const next = messageIds();
  const seen = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const id = next();
    expect(UUID_V8.test(id)).toBe(true);
    seen.add(id);
  }
  expect(seen.size).toBe(100_000);
  // Another broker (or a restart) draws its own prefix.
  expect(messageIds()().slice(0, 23)).not.toBe(next().slice(0, 23));
});

test("the prefix is drawn again once its counter values are used up: no id repeats", () => {
  let draws = 0;
  // Random bytes that repeat each draw: still no repeat, as the counter restarts only with a new draw (which here differs by its count).
  const next = messageIds((bytes) => bytes.fill(++draws), 3);
  const ids = Array.from({ length: 9 }, next);
  expect(draws).toBe(3);
  expect(new Set(ids).size).toBe(9);
  expect(ids.every((id) => UUID_V8.test(id))).toBe(true);
  expect(ids[2]!.slice(0, 23)).not.toBe(ids[3]!.slice(0, 23));
});

test("the counter is the id's last 8 hex digits, across the 256-id blocks it is built in", () => {
  const next = messageIds((bytes) => bytes.fill(7));
  const counters = Array.from({ length: 70_000 }, () => next().slice(-8));
  for (const at of [0, 1, 255, 256, 257, 511, 512, 65_535, 65_536, 69_999]) expect(counters[at]).toBe(at.toString(16).padStart(8, "0"));
  // A prefix drawn again starts a new block too, from 0.
  const small = messageIds((bytes) => bytes.fill(1), 300);
  const ids = Array.from({ length: 301 }, small);
  expect(ids[299]!.slice(-8)).toBe("0000012b");
  expect(ids[300]!.slice(-8)).toBe("00000000");
});
