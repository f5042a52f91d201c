/** The row label of scenario 2 with a subscriber attached; apart from the scenario so goals.ts reads it without importing load processes. */

/** In every row label of that scenario; goals.ts finds the rows by it. */
export const WITH_SUBSCRIBER = "durable queue, 1 subscriber attached";

export function consumedPublishLabel(inflight: number): string {
  return `2. confirmed HTTP publish, ${inflight} in flight → ${WITH_SUBSCRIBER}`;
}
