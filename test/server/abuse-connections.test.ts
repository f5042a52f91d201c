/** MAX_CONNECTIONS and MAX_CONNECTIONS_PER_ADDRESS: bounds hit exactly, releases free, stats count. */
import { expect, test } from "bun:test";
import { ConnectionLimiter, type ConnectionRefusal, type ConnectionTicket } from "../../src/server/abuse/connection-limiter.ts";
import { AbuseCodes } from "../../src/server/abuse/limits.ts";

const opened = (result: ConnectionTicket | ConnectionRefusal): ConnectionTicket => {
  if (!result.ok) throw new Error(`refused: ${result.message}`);
  return result;
};

test("the per-address bound is hit exactly: the Nth connection opens, the N+1th is refused with its reason and code", () => {
  const limiter = new ConnectionLimiter({ maxTotal: 100, maxPerAddress: 3 });
  for (let i = 0; i < 3; i++) expect(limiter.tryOpen("10.0.0.1").ok).toBe(true);
  const refused = limiter.tryOpen("10.0.0.1");
  expect(refused).toMatchObject({ ok: false, reason: "max_connections_per_address", code: AbuseCodes.CONNECTION_LIMIT });
  expect(limiter.tryOpen("10.0.0.2").ok).toBe(true); // another address has its own share
  expect(limiter.stats()).toEqual({ open: 4, addresses: 2, refused_total: { max_connections: 0, max_connections_per_address: 1 } });
});

test("the total bound is hit exactly, whatever the addresses; it is checked before the per-address one", () => {
  const limiter = new ConnectionLimiter({ maxTotal: 2, maxPerAddress: 1 });
  opened(limiter.tryOpen("10.0.0.1"));
  opened(limiter.tryOpen("10.0.0.2"));
  expect(limiter.tryOpen("10.0.0.3")).toMatchObject({ ok: false, reason: "max_connections" });
  expect(limiter.tryOpen("10.0.0.1")).toMatchObject({ ok: false, reason: "max_connections" });
  expect(limiter.stats().refused_total).toEqual({ max_connections: 2, max_connections_per_address: 0 });
});

test("release frees the place; a second release frees nothing more", () => {
  const limiter = new ConnectionLimiter({ maxTotal: 2, maxPerAddress: 2 });
  const a = opened(limiter.tryOpen("10.0.0.1"));
  opened(limiter.tryOpen("10.0.0.1"));
  expect(limiter.tryOpen("10.0.0.1").ok).toBe(false);
  a.release();
  a.release();
  a.release();
  expect(limiter.stats()).toMatchObject({ open: 1, addresses: 1 });
  expect(limiter.openFrom("10.0.0.1")).toBe(1);
  opened(limiter.tryOpen("10.0.0.1"));
  expect(limiter.tryOpen("10.0.0.1").ok).toBe(false); // the double release did not make room for a third
  expect(limiter.stats().open).toBe(2);
});

test("an address whose last connection closes is forgotten (the map does not grow with addresses seen)", () => {
  const limiter = new ConnectionLimiter({ maxTotal: 0, maxPerAddress: 5 });
  for (let i = 0; i < 1000; i++) opened(limiter.tryOpen(`10.0.${i >> 8}.${i & 255}`)).release();
  expect(limiter.stats()).toMatchObject({ open: 0, addresses: 0 });
});

test("IPv4-mapped IPv6 and IPv4 are one address; IPv6 spellings are one address", () => {
  const limiter = new ConnectionLimiter({ maxTotal: 0, maxPerAddress: 2 });
  opened(limiter.tryOpen("127.0.0.1"));
  opened(limiter.tryOpen("::ffff:127.0.0.1"));
  expect(limiter.tryOpen("::FFFF:7f00:1")).toMatchObject({ ok: false, reason: "max_connections_per_address" });
  opened(limiter.tryOpen("::1"));
  opened(limiter.tryOpen("0:0:0:0:0:0:0:1"));
  expect(limiter.tryOpen("[::1]").ok).toBe(false);
  expect(limiter.openFrom("::ffff:127.0.0.1")).toBe(2);
  expect(limiter.stats().addresses).toBe(2);
});

test("0 is no limit; an unknown address counts toward the total only", () => {
  const unlimited = new ConnectionLimiter({ maxTotal: 0, maxPerAddress: 0 });
  for (let i = 0; i < 5000; i++) opened(unlimited.tryOpen("10.0.0.1"));
  expect(unlimited.stats().open).toBe(5000);

  const limiter = new ConnectionLimiter({ maxTotal: 3, maxPerAddress: 1 });
  const unknown = opened(limiter.tryOpen(undefined));
  opened(limiter.tryOpen(undefined));
  opened(limiter.tryOpen(null));
  expect(limiter.tryOpen(undefined)).toMatchObject({ ok: false, reason: "max_connections" });
  expect(limiter.stats()).toMatchObject({ open: 3, addresses: 0 });
  unknown.release();
  unknown.release();
  expect(limiter.stats().open).toBe(2);
});

test("stats are a snapshot: later refusals do not change one already taken", () => {
  const limiter = new ConnectionLimiter({ maxTotal: 1, maxPerAddress: 1 });
  opened(limiter.tryOpen("10.0.0.1"));
  const before = limiter.stats();
  limiter.tryOpen("10.0.0.2");
  expect(before.refused_total.max_connections).toBe(0);
  expect(limiter.stats().refused_total.max_connections).toBe(1);
});
