/**
 * `.` and `..` are dot segments: every URL parser (WHATWG, and Bun.serve before any handler runs)
 * resolves them — also written `%2e`, `%2E%2e`, `.%2e` — so `/queues/./messages` is
 * `/queues/messages`. No encoding carries them; every other string survives `encodeURIComponent`
 * into one path segment unchanged (checked for every code point, test/integration/names-paths.test.ts).
 * No imports: the client bundle takes this file as it is.
 */
export const isDotSegment = (segment: string): boolean => segment === "." || segment === "..";
