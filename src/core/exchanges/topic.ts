import { validateBindingKey } from "../names.ts";
import { bindingSet, type ExchangeType, type Router } from "./types.ts";

/**
 * AMQP topic matching. Keys and patterns are "."-separated words; in a pattern the whole word "*"
 * matches exactly one word and "#" zero or more ("a*" is an ordinary word). Words may be empty:
 * "a..b" is three words, the middle one empty, and "*" matches it.
 *
 * The empty string is zero words, not one empty word, as in RabbitMQ's split_topic_key
 * (rabbit_db_topic_exchange): so "#" and "" match the key "", but "*" does not; "." is two empty
 * words and "*.*" matches it.
 */
export const splitWords = (s: string): string[] => (s === "" ? [] : s.split("."));

/** The plain reference matcher; the trie below must always agree with it. */
export const topicMatches = (pattern: string, key: string): boolean =>
  matchWords(splitWords(pattern), 0, splitWords(key), 0);

const matchWords = (pattern: string[], p: number, key: string[], k: number): boolean => {
  if (p === pattern.length) return k === key.length;
  const word = pattern[p];
  if (word === "#") {
    return matchWords(pattern, p + 1, key, k) || (k < key.length && matchWords(pattern, p, key, k + 1));
  }
  if (k === key.length) return false;
  return (word === "*" || word === key[k]) && matchWords(pattern, p + 1, key, k + 1);
};

type TrieNode = {
  readonly id: number;
  readonly children: Map<string, TrieNode>;
  /** Queues whose pattern ends here, with how many bindings (other args) lead to each. */
  readonly queues: Map<string, number>;
};

// "#.#" matches what "#" matches; collapsing runs keeps the trie and the # search small.
const trieWords = (pattern: string): string[] =>
  splitWords(pattern).filter((word, i, words) => !(word === "#" && words[i - 1] === "#"));

/**
 * Routes through a trie over pattern words (like RabbitMQ's topic trie or nats' sublist), so a
 * publish walks the key's words instead of testing every binding. Any string of at most 255
 * bytes is a valid pattern: every string is a list of words.
 */
export const topic: ExchangeType = {
  kind: "topic",
  validateBinding: (binding) => validateBindingKey(binding.key),
  createRouter: (): Router => {
    let nextId = 0;
    const newNode = (): TrieNode => ({ id: nextId++, children: new Map(), queues: new Map() });
    const root = newNode();
    const bindings = bindingSet();

    return {
      bindings,
      bind(binding) {
        if (!bindings.add(binding)) return;
        let node = root;
        for (const word of trieWords(binding.key)) {
          let child = node.children.get(word);
          if (!child) node.children.set(word, (child = newNode()));
          node = child;
        }
        node.queues.set(binding.queue, (node.queues.get(binding.queue) ?? 0) + 1);
      },

      unbind(binding) {
        if (!bindings.delete(binding)) return false;
        const words = trieWords(binding.key);
        const path = [root];
        for (const word of words) {
          const child = path[path.length - 1]!.children.get(word);
          if (!child) return true; // unreachable while the binding set and the trie agree
          path.push(child);
        }
        const leaf = path[path.length - 1]!;
        const left = (leaf.queues.get(binding.queue) ?? 1) - 1;
        if (left > 0) leaf.queues.set(binding.queue, left);
        else leaf.queues.delete(binding.queue);
        // Prune branches nothing ends in, so churn does not grow the trie.
        for (let i = words.length; i > 0; i--) {
          const node = path[i]!;
          if (node.queues.size > 0 || node.children.size > 0) break;
          path[i - 1]!.children.delete(words[i - 1]!);
        }
        return true;
      },

      route(message) {
        const words = splitWords(message.routingKey);
        const found = new Set<string>();
        // Several "#" can reach one (node, position) by many paths; visiting each pair once keeps
        // a hostile pattern like "#.a.#.a.#" polynomial instead of exponential.
        const seen = new Set<number>();
        const stride = words.length + 1;
        const visit = (node: TrieNode, at: number): void => {
          const mark = node.id * stride + at;
          if (seen.has(mark)) return;
          seen.add(mark);
          const hash = node.children.get("#");
          if (hash) for (let next = at; next <= words.length; next++) visit(hash, next);
          if (at === words.length) {
            for (const queue of node.queues.keys()) found.add(queue);
            return;
          }
          const star = node.children.get("*");
          if (star) visit(star, at + 1);
          const word = words[at]!;
          // A key's literal "*" or "#" word is already covered by the wildcard edges above.
          if (word === "*" || word === "#") return;
          const exact = node.children.get(word);
          if (exact) visit(exact, at + 1);
        };
        visit(root, 0);
        return [...found];
      },
    };
  },
};
