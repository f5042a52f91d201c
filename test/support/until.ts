/** Polls `probe` until it returns a truthy value, and returns that value; fails after `ms`. */
export async function until<T>(probe: () => T | Promise<T>, ms = 5_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}
