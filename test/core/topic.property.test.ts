import { expect, test } from "bun:test";
import fc from "fast-check";
import { topic, topicMatches } from "../../src/core/exchanges/topic.ts";
import type { Binding } from "../../src/core/exchanges/types.ts";

// A small alphabet makes collisions, empty words and wildcards common; keys may carry literal
// "*" and "#" words too, which must stay plain words.
const word = fc.constantFrom("a", "b", "", "*", "#");
const dotted = fc.array(word, { maxLength: 5 }).map((words) => words.join("."));
const queue = fc.constantFrom("q0", "q1", "q2", "q3", "q4", "q5");
const binding = fc.record({ queue, pattern: dotted });

const toBinding = (b: { queue: string; pattern: string }): Binding => ({
  exchange: "x",
  queue: b.queue,
  key: b.pattern,
  args: {},
});

test("the topic trie routes exactly the queues topicMatches picks, across binds and unbinds", () => {
  fc.assert(
    fc.property(
      fc.array(binding, { maxLength: 12 }),
      fc.array(fc.boolean(), { maxLength: 12 }),
      fc.array(dotted, { minLength: 1, maxLength: 6 }),
      (bindings, unbindMask, keys) => {
        const router = topic.createRouter();
        for (const b of bindings) router.bind(toBinding(b));
        // Unbind some; a repeated binding was bound once, so only its first unbind succeeds.
        const removed = new Set<string>();
        bindings.forEach((b, i) => {
          if (!unbindMask[i]) return;
          const id = `${b.queue}\u0000${b.pattern}`;
          expect(router.unbind(toBinding(b))).toBe(!removed.has(id));
          removed.add(id);
        });
        const live = bindings.filter((b) => !removed.has(`${b.queue}\u0000${b.pattern}`));
        for (const key of keys) {
          const expected = new Set(live.filter((b) => topicMatches(b.pattern, key)).map((b) => b.queue));
          const routed = router.route({ routingKey: key, headers: {} });
          expect(routed.length).toBe(new Set(routed).size);
          expect(new Set(routed)).toEqual(expected);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
