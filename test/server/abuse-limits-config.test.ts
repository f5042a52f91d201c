/** parseLimitsConfig: defaults, bounds, and errors that name the variable. */
import { expect, test } from "bun:test";
import {
  DEFAULT_AUTH_BACKOFF_BASE_MS,
  DEFAULT_AUTH_BACKOFF_FORGET_MS,
  DEFAULT_AUTH_BACKOFF_MAX_ADDRESSES,
  DEFAULT_AUTH_BACKOFF_MAX_MS,
  DEFAULT_AUTH_FAILURES_FREE,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  LimitsConfigError,
  parseLimitsConfig,
} from "../../src/server/abuse/limits.ts";

test("nothing set: the named defaults; the publish rate off with a burst of 1", () => {
  expect(parseLimitsConfig({})).toEqual({
    maxConnections: DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    publishRatePerConnection: 0,
    publishBurst: 1,
    authFailuresFree: DEFAULT_AUTH_FAILURES_FREE,
    authBackoffBaseMs: DEFAULT_AUTH_BACKOFF_BASE_MS,
    authBackoffMaxMs: DEFAULT_AUTH_BACKOFF_MAX_MS,
    authBackoffForgetMs: DEFAULT_AUTH_BACKOFF_FORGET_MS,
    authBackoffMaxAddresses: DEFAULT_AUTH_BACKOFF_MAX_ADDRESSES,
  });
  expect(Object.isFrozen(parseLimitsConfig({}))).toBe(true);
  expect(parseLimitsConfig({ MAX_CONNECTIONS: " ", PUBLISH_BURST: "" }).maxConnections).toBe(DEFAULT_MAX_CONNECTIONS);
});

test("every variable is read; the burst defaults to one second of the rate", () => {
  const config = parseLimitsConfig({
    MAX_CONNECTIONS: "0",
    MAX_CONNECTIONS_PER_ADDRESS: " 50 ",
    PUBLISH_RATE_PER_CONNECTION: "200",
    AUTH_FAILURES_FREE: "0",
    AUTH_BACKOFF_BASE_MS: "250",
    AUTH_BACKOFF_MAX_MS: "250",
    AUTH_BACKOFF_FORGET_MS: "1000",
    AUTH_BACKOFF_MAX_ADDRESSES: "10",
  });
  expect(config).toEqual({
    maxConnections: 0,
    maxConnectionsPerAddress: 50,
    publishRatePerConnection: 200,
    publishBurst: 200,
    authFailuresFree: 0,
    authBackoffBaseMs: 250,
    authBackoffMaxMs: 250,
    authBackoffForgetMs: 1000,
    authBackoffMaxAddresses: 10,
  });
  expect(parseLimitsConfig({ PUBLISH_RATE_PER_CONNECTION: "200", PUBLISH_BURST: "1000" }).publishBurst).toBe(1000);
  // a base above the default cap raises the cap's default with it
  expect(parseLimitsConfig({ AUTH_BACKOFF_BASE_MS: "120000" }).authBackoffMaxMs).toBe(120_000);
});

const bad: [string, string][] = [
  ["MAX_CONNECTIONS", "-1"],
  ["MAX_CONNECTIONS", "1000001"],
  ["MAX_CONNECTIONS", "10k"],
  ["MAX_CONNECTIONS", "1e3"],
  ["MAX_CONNECTIONS", "0x10"],
  ["MAX_CONNECTIONS_PER_ADDRESS", "1.5"],
  ["MAX_CONNECTIONS_PER_ADDRESS", "many"],
  ["PUBLISH_RATE_PER_CONNECTION", "0.5"],
  ["PUBLISH_RATE_PER_CONNECTION", "10000001"],
  ["PUBLISH_BURST", "0"],
  ["AUTH_FAILURES_FREE", "1001"],
  ["AUTH_BACKOFF_BASE_MS", "0"],
  ["AUTH_BACKOFF_MAX_MS", "0"],
  ["AUTH_BACKOFF_FORGET_MS", "0"],
  ["AUTH_BACKOFF_MAX_ADDRESSES", "0"],
];

test.each(bad)("%s=%p is refused with an error naming it", (variable, value) => {
  let error: unknown;
  try {
    parseLimitsConfig({ [variable]: value });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(LimitsConfigError);
  expect((error as LimitsConfigError).variable).toBe(variable);
  expect((error as LimitsConfigError).message).toStartWith(`${variable} must be`);
  expect((error as LimitsConfigError).message).toContain(`"${value}"`);
});

test("a cap below the base delay is refused, naming both", () => {
  expect(() => parseLimitsConfig({ AUTH_BACKOFF_BASE_MS: "5000", AUTH_BACKOFF_MAX_MS: "1000" })).toThrow(
    /^AUTH_BACKOFF_MAX_MS \(1000\) must not be less than AUTH_BACKOFF_BASE_MS \(5000\)$/,
  );
});
