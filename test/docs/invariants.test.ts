/** docs/INVARIANTS.md lists every invariant id the code and tests use, each with its meaning, and is current. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MEANINGS, page, usages } from "../../scripts/invariants.ts";

test("every id used in src/ and test/ has a one-line meaning, and every meaning an id in use", () => {
  const used = [...usages().keys()].sort();
  expect(used.filter((id) => MEANINGS[id] === undefined)).toEqual([]);
  expect(Object.keys(MEANINGS).filter((id) => !used.includes(id))).toEqual([]);
});

test("every id is tested somewhere", () => {
  const untested = [...usages()].filter(([, where]) => where.tested.size === 0).map(([id]) => id);
  expect(untested).toEqual([]);
});

test("docs/INVARIANTS.md is current (bun scripts/invariants.ts)", () => {
  expect(readFileSync(join(import.meta.dir, "../../docs/INVARIANTS.md"), "utf8")).toBe(page());
});
