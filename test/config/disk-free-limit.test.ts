/** DISK_FREE_LIMIT: bytes with RabbitMQ's units, 50 MiB by default, 0 for off, anything else refused naming it. */
import { expect, test } from "bun:test";
import { ConfigError, loadConfig, parseByteSize } from "../../src/config.ts";

const limitOf = (value?: string) => loadConfig(value === undefined ? {} : { DISK_FREE_LIMIT: value }, "/tmp").diskFreeLimitBytes;

test("default 50 MiB; unset and empty are the default; 0 turns it off", () => {
  expect(limitOf()).toBe(50 * 2 ** 20);
  expect(limitOf("")).toBe(50 * 2 ** 20);
  expect(limitOf(" ")).toBe(50 * 2 ** 20);
  expect(limitOf("0")).toBe(0);
});

test.each([
  ["52428800", 52_428_800],
  ["1B", 1],
  ["50MB", 50_000_000],
  ["50M", 50_000_000],
  ["50mb", 50_000_000],
  ["50MiB", 50 * 2 ** 20],
  ["50Mi", 50 * 2 ** 20],
  ["512 MiB", 512 * 2 ** 20],
  ["1kB", 1_000],
  ["1k", 1_000],
  ["1KiB", 1_024],
  ["1GB", 1e9],
  ["1GiB", 2 ** 30],
  ["1.5GiB", 1.5 * 2 ** 30],
  ["2TB", 2e12],
  ["2TiB", 2 * 2 ** 40],
  ["1PB", 1e15],
  [" 8MiB ", 8 * 2 ** 20],
])("%p is %p bytes (RabbitMQ's units: powers of 1000, and of 1024 with i)", (raw, bytes) => {
  expect(parseByteSize(raw)).toBe(bytes);
  expect(limitOf(raw)).toBe(bytes);
});

test.each(["-1", "1e9", "50 megabytes", "MB", "0x10", "50  MB", "1.MB", "50constructor", "50toString", "50__proto__", "∞"])(
  "%p stops start-up with a line naming DISK_FREE_LIMIT",
  (raw) => {
    expect(parseByteSize(raw)).toBeUndefined();
    expect(() => limitOf(raw)).toThrow(ConfigError);
    expect(() => limitOf(raw)).toThrow(`DISK_FREE_LIMIT must be a byte count with an optional unit (52428800, 50MiB, 50MB, 1GiB; 0 turns it off), got "${raw}"`);
  },
);

test("more than 2^53 - 1 bytes is refused, not rounded", () => {
  expect(() => limitOf("10PB")).toThrow('DISK_FREE_LIMIT must be from 0 to 9007199254740991 bytes, got "10PB"');
  expect(() => limitOf("9".repeat(400))).toThrow("DISK_FREE_LIMIT must be from 0 to");
});
