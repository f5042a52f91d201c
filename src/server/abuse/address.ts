/**
 * One key per remote host, so that the limits count a host once however its address is spelled:
 * `::ffff:1.2.3.4` (how a dual-stack socket reports an IPv4 peer) and `1.2.3.4` are one host, and
 * IPv6 is written in its RFC 5952 form (`0:0::1`, `::1` and `[::1]` are one). Pure, no I/O.
 */

/** Bits of an IPv6 address that name one host: 128 (the whole address) or a prefix such as 64. */
export type Ipv6PrefixBits = number;

/** The key an address is counted under, or undefined when the transport knows no address (a unix socket). */
export function addressKey(address: string | null | undefined, ipv6PrefixBits: Ipv6PrefixBits = 128): string | undefined {
  if (address === null || address === undefined) return undefined;
  let text = address.trim().toLowerCase();
  if (text === "") return undefined;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone !== -1) text = text.slice(0, zone);
  if (isIPv4Text(text)) return text;
  const groups = parseIPv6(text);
  if (groups === undefined) return text; // not an address: counted as it was given
  if (isIPv4Mapped(groups)) return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  if (ipv6PrefixBits >= 128) return formatIPv6(groups);
  return `${formatIPv6(maskIPv6(groups, ipv6PrefixBits))}/${ipv6PrefixBits}`;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const isIPv4Text = (text: string): boolean => IPV4.test(text);

const isIPv4Mapped = (g: readonly number[]): boolean =>
  g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;

/** Eight 16-bit groups, or undefined when `text` is not an IPv6 address (a trailing dotted IPv4 allowed). */
export function parseIPv6(text: string): number[] | undefined {
  if (!text.includes(":")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** The groups of one side of `::`; a dotted IPv4 address may end it (two groups). */
function groupsOf(side: string): number[] | undefined {
  if (side === "") return [];
  const parts = side.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i === parts.length - 1 && isIPv4Text(part)) {
      const [a, b, c, d] = part.split(".").map(Number) as [number, number, number, number];
      groups.push((a << 8) | b, (c << 8) | d);
    } else if (/^[0-9a-f]{1,4}$/.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function maskIPv6(groups: readonly number[], bits: number): number[] {
  return groups.map((group, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff;
  });
}

/** RFC 5952: lower-case, no leading zeros, the longest run of two or more zero groups (the first) as `::`. */
function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}
