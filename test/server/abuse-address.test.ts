/** One key per host: the spellings of an address the limits must count once. */
import { expect, test } from "bun:test";
import { addressKey } from "../../src/server/abuse/address.ts";

const sameHost: [string, string | undefined][] = [
  ["1.2.3.4", "1.2.3.4"],
  [" 1.2.3.4 ", "1.2.3.4"],
  ["::ffff:1.2.3.4", "1.2.3.4"],
  ["::FFFF:1.2.3.4", "1.2.3.4"],
  ["::ffff:0102:0304", "1.2.3.4"],
  ["0:0:0:0:0:ffff:1.2.3.4", "1.2.3.4"],
  ["[::ffff:127.0.0.1]", "127.0.0.1"],
  ["::1", "::1"],
  ["0:0:0:0:0:0:0:1", "::1"],
  ["[::1]", "::1"],
  ["2001:DB8::0001", "2001:db8::1"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["fe80::1%eth0", "fe80::1"],
  ["::", "::"],
  // not IPv4-mapped: the IPv4-compatible form and NAT64 are other addresses
  ["::1.2.3.4", "::102:304"],
  ["64:ff9b::1.2.3.4", "64:ff9b::102:304"],
  ["", undefined],
];

test.each(sameHost)("addressKey(%p) is %p", (address, key) => {
  expect(addressKey(address)).toBe(key);
});

test("no address (a unix socket) has no key; text that is no address is counted as given", () => {
  expect(addressKey(undefined)).toBeUndefined();
  expect(addressKey(null)).toBeUndefined();
  expect(addressKey("1.2.3.256")).toBe("1.2.3.256");
  expect(addressKey("01.2.3.4")).toBe("01.2.3.4");
  expect(addressKey("1:2:3:4:5:6:7:8:9")).toBe("1:2:3:4:5:6:7:8:9");
});

test("with a prefix, IPv6 counts by network and IPv4 (mapped too) stays whole", () => {
  expect(addressKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64)).toBe("2001:db8:1:2::/64");
  expect(addressKey("2001:db8:1:2::1", 64)).toBe("2001:db8:1:2::/64");
  expect(addressKey("2001:db8:1:3::1", 64)).toBe("2001:db8:1:3::/64");
  expect(addressKey("2001:db8:1:2ff::1", 56)).toBe("2001:db8:1:200::/56");
  expect(addressKey("::ffff:10.0.0.1", 64)).toBe("10.0.0.1");
});
