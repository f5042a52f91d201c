import { describe, expect, test } from "bun:test";
import { SeenMessages } from "../../src/client/seen-messages.ts";

describe("SeenMessages", () => {
  test("a message received again (same seq, same id) is refused; a reused seq with another id is not", () => {
    const seen = new SeenMessages(10);
    expect(seen.add(1, "a")).toBe(true);
    expect(seen.add(2, "b")).toBe(true);
    expect(seen.add(1, "a")).toBe(false);
    expect(seen.add(1, "c")).toBe(true);
    expect(seen.last).toBe(1);
  });

  test("last is the seq received last, not the highest: a late delayed message moves it back", () => {
    const seen = new SeenMessages(10);
    seen.add(1, "a");
    seen.add(3, "c");
    seen.add(2, "b");
    expect(seen.last).toBe(2);
  });

  test("remembers only the latest `capacity` messages", () => {
    const seen = new SeenMessages(3);
    for (const seq of [1, 2, 3, 4]) seen.add(seq, `m${seq}`);
    expect(seen.add(1, "m1")).toBe(true); // forgotten: the window moved past it
    expect(seen.add(4, "m4")).toBe(false);
  });

  test("capacity 0 turns de-duplication off; reset forgets everything", () => {
    const off = new SeenMessages(0);
    off.add(1, "a");
    expect(off.add(1, "a")).toBe(true);
    const seen = new SeenMessages(5);
    seen.add(7, "x");
    seen.reset();
    expect(seen.last).toBeUndefined();
    expect(seen.add(7, "x")).toBe(true);
  });
});
