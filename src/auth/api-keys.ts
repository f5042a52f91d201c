/**
 * API key text and hashes. A key reads `pk_<id>_<secret>`: `id` is 16 hex digits (64 random bits,
 * not secret: it finds the one hash to try, as an AWS access key id does), `secret` 43 base64url
 * characters (256 random bits). Only an argon2id hash of the whole text is stored. `pk_` tells a
 * key from a JWT at a glance (a JWT has two dots, a key none) and makes leaked keys greppable.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { KEY_HASH_COST, KEY_ID_BYTES, KEY_SECRET_BYTES, VERIFIED_KEY_ENTRIES, VERIFIED_KEY_TTL_MS } from "./limits.ts";

export const KEY_PREFIX = "pk_";
const KEY_ID = /^[0-9a-f]{16}$/;
const KEY_TEXT = /^pk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** What Bun.password writes for argon2id (PHC string format); nothing else is accepted as a stored hash. */
const ARGON2ID_HASH = /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

export type KeyHashCost = { memoryCost: number; timeCost: number };

export const isKeyId = (id: string): boolean => KEY_ID.test(id);
export const isArgon2idHash = (hash: string): boolean => ARGON2ID_HASH.test(hash);
/** True for text shaped like an API key (`pk_…`); whether it is a valid one is for `keyIdOf`. */
export const looksLikeApiKey = (text: string): boolean => text.startsWith(KEY_PREFIX);

/** The id inside a well-formed key text; undefined for anything else. */
export const keyIdOf = (keyText: string): string | undefined => KEY_TEXT.exec(keyText)?.[1];

/** A fresh key: its text (shown once) and the id it is stored under. */
export function generateKey(): { id: string; key: string } {
  const id = Buffer.from(crypto.getRandomValues(new Uint8Array(KEY_ID_BYTES))).toString("hex");
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(KEY_SECRET_BYTES))).toString("base64url");
  return { id, key: `${KEY_PREFIX}${id}_${secret}` };
}

export const hashKey = (keyText: string, cost: KeyHashCost = KEY_HASH_COST): Promise<string> =>
  Bun.password.hash(keyText, { algorithm: "argon2id", ...cost });

export const verifyKeyHash = (keyText: string, hash: string): Promise<boolean> => Bun.password.verify(keyText, hash, "argon2id");

const sha256 = (text: string): Buffer => createHash("sha256").update(text).digest();

/**
 * Keys that passed argon2 recently, so a client presenting its key on every request pays the
 * ~50 ms once per VERIFIED_KEY_TTL_MS. Indexed by key id; holds the SHA-256 digest of the key
 * text (never the text) and compares digests with timingSafeEqual. Failures are not remembered.
 */
export class VerifiedKeys {
  readonly #entries = new Map<string, { digest: Buffer; until: number }>();
  constructor(private readonly now: () => number, private readonly ttlMs = VERIFIED_KEY_TTL_MS) {}

  has(id: string, keyText: string): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    if (this.now() >= entry.until) {
      this.#entries.delete(id);
      return false;
    }
    return timingSafeEqual(entry.digest, sha256(keyText));
  }

  remember(id: string, keyText: string): void {
    this.#entries.delete(id); // re-inserted last: the Map's order is the eviction order
    if (this.#entries.size >= VERIFIED_KEY_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(id, { digest: sha256(keyText), until: this.now() + this.ttlMs });
  }

  forget(id: string): void {
    this.#entries.delete(id);
  }
}
