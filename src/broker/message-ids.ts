/**
 * Message ids (the seed's `unique_id`) the way NATS makes its NUIDs: a random prefix, drawn again
 * now and then, and a counter after it, instead of crypto.randomUUID() per message (a few % of
 * the fan-out path's CPU). Still a UUID in form (RFC 9562 version 8, "custom"), 8-4-4-4-12
 * lowercase hex, which is what seed clients read; unique because the prefix has 90 random bits
 * and never repeats a counter value. Not secret: nothing is authorised by knowing an id.
 */

/** Counter values per prefix: 48 bits' worth would do; a new prefix every 2^32 ids keeps it small and exact. */
const PER_PREFIX = 2 ** 32;

export function messageIds(random: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b), perPrefix = PER_PREFIX): () => string {
  let prefix = "";
  let count = perPrefix;
  /** The id less its last two hex digits: made once per 256 ids (toString + padStart per id cost ~50 ns). */
  let block = "";
  return () => {
    if (count >= perPrefix) {
      prefix = newPrefix(random);
      count = 0;
    }
    // The last group: 4 hex digits of the prefix's, then 8 of the counter (6 in the block, 2 here).
    const low = count & 0xff;
    // A new prefix starts at count 0, so its first id makes a block too.
    if (low === 0) block = prefix + (count >>> 8).toString(16).padStart(6, "0");
    count++;
    return block + HEX2[low]!;
  };
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** `xxxxxxxx-xxxx-8xxx-Vxxx-xxxx`: 28 random hex digits, the version 8 and the variant (10xx) fixed. */
function newPrefix(random: (bytes: Uint8Array) => void): string {
  const bytes = new Uint8Array(14);
  random(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const variant = ((parseInt(hex[15]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(12, 15)}-${variant}${hex.slice(16, 19)}-${hex.slice(19, 23)}`;
}
