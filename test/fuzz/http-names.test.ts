/**
 * Fuzz: odd names and keys (controls, bidi overrides, BOM, zero-width, lone surrogates,
 * noncharacters, NUL, dots, slashes, percent signs, 255-byte edges). A name is refused, or it is
 * that very name everywhere: at its URL, in the listing, on delete. A key is refused, or it routes
 * and reads back unchanged.
 */
import { beforeAll, test } from "bun:test";
import fc from "fast-check";
import { fail, httpCall } from "./contract.ts";
import { expectHealthy, expectMemoryBounded, fuzzBroker } from "./fuzz-broker.ts";
import { boundaryString, oddString } from "./hostile.ts";
import { rawCall } from "./raw-call.ts";
import { fuzz, seed } from "./settings.ts";

const target = fuzzBroker();
let serial = 0;
const fresh = (): string => `${seed}-${++serial}`;
const NAME_REFUSALS = new Set(["INVALID_NAME", "VALIDATION"]);
const RESERVED_REFUSALS = new Set(["E005", "Q007"]);

beforeAll(async () => {
  await httpCall(target.broker.url, "POST", "/exchanges", JSON.stringify({ name: "fz-direct", type: "direct", durable: false }));
  await httpCall(target.broker.url, "POST", "/queues", JSON.stringify({ name: "fz-keys" }));
});

/** Raw names (which may repeat across cases) and names made unique with a prefix. */
const names = fc.oneof(oddString(), boundaryString, oddString().map((s) => `fz${serial}-${s}`), oddString().map((s) => `${s}-fz`));

const encode = (name: string): string | null => {
  try {
    return encodeURIComponent(name);
  } catch {
    return null;
  }
};

test("queue and exchange names: refused (422), or the very same name at its URL, in the listing and on delete", async () => {
  await fuzz(
    "http-name-round-trip",
    fc.record({ kind: fc.constantFrom("queues", "exchanges"), name: names, durable: fc.boolean() }),
    async ({ kind, name, durable }) => {
      const url = target.broker.url;
      const body = JSON.stringify(kind === "queues" ? { name, durable } : { name, type: "fanout", durable });
      const request = `POST /${kind} ${body}`;
      const declared = await httpCall(url, "POST", `/${kind}`, body);
      if (declared.status === 409) return; // a raw name seen before with the other durability
      if (declared.status === 422 && NAME_REFUSALS.has(declared.code!)) return;
      // [RESERVED-1] The broker's prefix: refused for a new name, and only for one that has it.
      if (declared.status === 403 && RESERVED_REFUSALS.has(declared.code!)) {
        if (!name.startsWith("amq.")) fail(request, `refused as reserved without the amq. prefix: ${declared.text}`);
        return;
      }
      if (declared.status === 200 && name.startsWith("amq.")) fail(request, "a new amq.* name was accepted");
      if (declared.status !== 200) fail(request, `neither accepted nor refused as a bad name: ${declared.status} ${declared.text}`);
      const path = encode(name);
      if (path === null) fail(request, "accepted a name that no URL can carry (encodeURIComponent throws)");
      const read = await rawCall(target.broker.port, { method: "GET", target: `/${kind}/${path}` }, true);
      if (read.status !== 200 || read.body?.name !== name) fail(request, `GET /${kind}/${path} → ${read.status} ${read.text.slice(0, 300)}`);
      const listed = (await httpCall(url, "GET", `/${kind}`)).body as { name: string }[];
      const same = listed.filter((entry) => entry.name === name).length;
      if (same !== 1) fail(request, `listed ${same} times under its name`);
      const removed = await rawCall(target.broker.port, { method: "DELETE", target: `/${kind}/${path}` }, true);
      if (removed.status !== 200) fail(request, `DELETE /${kind}/${path} → ${removed.status} ${removed.text}`);
      const gone = await rawCall(target.broker.port, { method: "GET", target: `/${kind}/${path}` }, true);
      if (gone.status !== 404) fail(request, `still there after its DELETE: ${gone.status} ${gone.text.slice(0, 200)}`);
      const after = (await httpCall(url, "GET", `/${kind}`)).body as { name: string }[];
      if (after.length !== listed.length - 1) fail(request, `the DELETE removed ${listed.length - after.length} entries`);
    },
    0.039,
  );
  await expectHealthy(target.broker, "name round trips");
});

/** Not printable (issue 9 item 8): controls, format characters, surrogates, private use, line and paragraph separators, noncharacters. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/u;

test("an accepted name is printable: no control, format, surrogate, private-use or noncharacter code point, no space at either end, not . or ..", async () => {
  await fuzz(
    "http-printable-names",
    fc.record({ kind: fc.constantFrom("queues", "exchanges"), name: names }),
    async ({ kind, name }) => {
      const body = JSON.stringify(kind === "queues" ? { name } : { name, type: "fanout", durable: false });
      const declared = await httpCall(target.broker.url, "POST", `/${kind}`, body);
      if (declared.status !== 200) return;
      const bad = UNPRINTABLE.exec(name);
      const why = bad
        ? `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} at index ${bad.index}`
        : /^\s|\s$/u.test(name)
          ? "white space at an end"
          : name === "." || name === ".."
            ? "a dot segment"
            : null;
      if (why !== null) fail(`POST /${kind} ${body}`, `accepted a name with ${why}`);
    },
    0.019,
  );
});

test("binding and routing keys: refused (422), or the binding reads back with the very same key and a publish with it routes there", async () => {
  await fuzz(
    "http-key-round-trip",
    fc.oneof(oddString(), boundaryString),
    async (key) => {
      const url = target.broker.url;
      const queue = `fz-k-${fresh()}`;
      await httpCall(url, "POST", "/queues", JSON.stringify({ name: queue }));
      const body = JSON.stringify({ exchange_name: "fz-direct", queue_name: queue, key });
      const bound = await httpCall(url, "POST", "/bindings", body);
      try {
        if (bound.status === 422) return;
        if (bound.status !== 200) fail(`POST /bindings ${body}`, `neither bound nor refused: ${bound.status} ${bound.text}`);
        const listed = (await httpCall(url, "GET", `/bindings?queue=${encodeURIComponent(queue)}`)).body as { key: string }[];
        if (listed.length !== 1 || listed[0]!.key !== key) fail(`POST /bindings ${body}`, `GET /bindings lists ${JSON.stringify(listed)}`);
        const published = await httpCall(url, "POST", "/publish", JSON.stringify({ exchange_name: "fz-direct", key, payload: 1 }));
        if (published.status !== 200 || published.body.routed !== 1) fail(`POST /bindings ${body}`, `a publish with the same key: ${published.status} ${published.text}`);
      } finally {
        await httpCall(url, "DELETE", `/queues/${encodeURIComponent(queue)}`);
      }
    },
    0.026,
  );
  await expectHealthy(target.broker, "key round trips");
});

test("the broker's memory stays bounded after the run", () => {
  expectMemoryBounded(target.broker);
});
