/**
 * ALLOWED_HOSTS, applied to the Host header of every request and to the Origin of every WebSocket
 * upgrade. A pattern is `host`, `host:port` or `*.domain` (any subdomain, not the domain itself).
 * Only plain ASCII hosts are compared at all: URL parsing would map look-alikes onto an allowed
 * name ("ｅｘａｍｐｌｅ.com", "exampⅼe.com" and "exampl%65.com" all parse to "example.com"), and a
 * Host that is no host at all makes the request URL unparseable (it used to answer 500).
 */
import { MAX_PORT } from "./limits.ts";

export type HostGuard = { allowsHost(hostHeader: string | null): boolean; allowsOrigin(origin: string | null): boolean };

/** A DNS name or IPv4 address, or a bracketed IPv6 literal; then an optional port. */
const HOST = String.raw`(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::[0-9]{0,5})?`;
const HOST_HEADER = new RegExp(`^${HOST}$`, "i");
const ORIGIN = new RegExp(`^[a-z][a-z0-9+.-]*://${HOST}/?$`, "i");

// [FUZZ-7] A port past MAX_PORT (65535) made the request URL unparseable for Elysia: a 500.
const validHost = (hostHeader: string | null): hostHeader is string => {
  if (hostHeader === null || !HOST_HEADER.test(hostHeader)) return false;
  const port = /:([0-9]*)$/.exec(hostHeader)?.[1];
  return port === undefined || port === "" || Number(port) <= MAX_PORT;
};

export function hostGuard(patterns: readonly string[]): HostGuard {
  if (patterns.length === 0) {
    return { allowsHost: validHost, allowsOrigin: () => true };
  }
  const matches = (hostname: string, port: string): boolean =>
    patterns.some((pattern) => {
      const [patternHost = "", patternPort] = splitPort(pattern);
      if (patternPort !== undefined && patternPort !== port) return false;
      if (patternHost.startsWith("*.")) return hostname.endsWith(patternHost.slice(1));
      return hostname === patternHost;
    });
  return {
    allowsHost(hostHeader) {
      if (!validHost(hostHeader)) return false;
      const parsed = parseHost(`http://${hostHeader}`);
      return parsed !== null && matches(parsed.hostname, parsed.port);
    },
    allowsOrigin(origin) {
      // Non-browser clients send no Origin; browsers always do, and that is what this guards.
      if (origin === null) return true;
      if (!ORIGIN.test(origin)) return false;
      const parsed = parseHost(origin);
      return parsed !== null && matches(parsed.hostname, parsed.port);
    },
  };
}

function parseHost(url: string): { hostname: string; port: string } | null {
  try {
    const u = new URL(url);
    if (u.username !== "" || u.password !== "" || (u.pathname !== "/" && u.pathname !== "")) return null;
    return { hostname: u.hostname.toLowerCase().replace(/\.$/, ""), port: u.port };
  } catch {
    return null;
  }
}

function splitPort(pattern: string): [string, string | undefined] {
  if (pattern.startsWith("[")) {
    const end = pattern.indexOf("]");
    const rest = pattern.slice(end + 1);
    return [pattern.slice(0, end + 1), rest.startsWith(":") ? rest.slice(1) : undefined];
  }
  const colon = pattern.lastIndexOf(":");
  return colon === -1 ? [pattern, undefined] : [pattern.slice(0, colon), pattern.slice(colon + 1)];
}
