/**
 * ALLOWED_HOSTS, applied to the Host header of every request and to the Origin of every WebSocket
 * upgrade. A pattern is `host`, `host:port` or `*.domain` (any subdomain, not the domain itself).
 * Hosts are compared after URL parsing, so look-alike Unicode letters arrive as punycode and never
 * equal an ASCII pattern.
 */
export type HostGuard = { allowsHost(hostHeader: string | null): boolean; allowsOrigin(origin: string | null): boolean };

export function hostGuard(patterns: readonly string[]): HostGuard {
  if (patterns.length === 0) return { allowsHost: () => true, allowsOrigin: () => true };
  const matches = (hostname: string, port: string): boolean =>
    patterns.some((pattern) => {
      const [patternHost = "", patternPort] = splitPort(pattern);
      if (patternPort !== undefined && patternPort !== port) return false;
      if (patternHost.startsWith("*.")) return hostname.endsWith(patternHost.slice(1));
      return hostname === patternHost;
    });
  return {
    allowsHost(hostHeader) {
      if (hostHeader === null || hostHeader === "") return false;
      const parsed = parseHost(`http://${hostHeader}`);
      return parsed !== null && matches(parsed.hostname, parsed.port);
    },
    allowsOrigin(origin) {
      // Non-browser clients send no Origin; browsers always do, and that is what this guards.
      if (origin === null) return true;
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
