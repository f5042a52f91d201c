/** The test scheduler the broker tests rely on: timers run at their own time, in order, only when the test moves time. */
import { expect, test } from "bun:test";
import { FakeClock, ManualScheduler } from "./support/manual-scheduler.ts";

test("timers run when advance() passes them, each with the clock at its time, in time order", () => {
  const clock = new FakeClock(0);
  const scheduler = new ManualScheduler(clock);
  const ran: string[] = [];
  scheduler.every(100, () => ran.push(`every@${clock.now()}`));
  scheduler.after(150, () => ran.push(`after@${clock.now()}`));
  const cancelled = scheduler.after(120, () => ran.push("cancelled"));
  cancelled();
  scheduler.advance(99);
  expect(ran).toEqual([]);
  scheduler.advance(201);
  expect(ran).toEqual(["every@100", "after@150", "every@200", "every@300"]);
  expect(clock.now()).toBe(300);
});

test("soon tasks run on runSoon() and after each timer, including those they schedule", () => {
  const scheduler = new ManualScheduler(new FakeClock(0));
  const ran: number[] = [];
  scheduler.soon(() => {
    ran.push(1);
    scheduler.soon(() => ran.push(2));
  });
  expect(ran).toEqual([]);
  expect(scheduler.runSoon()).toBe(2);
  expect(ran).toEqual([1, 2]);
  scheduler.after(10, () => scheduler.soon(() => ran.push(3)));
  scheduler.advance(10);
  expect(ran).toEqual([1, 2, 3]);
});
