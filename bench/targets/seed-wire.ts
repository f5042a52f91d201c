/** The seed's wire contract (shared/seed/SEED-API.md), as pubsub and the raw relay speak it. */
import { benchPayload } from "../load/specs.ts";

export function publishBody(exchange: string, key: string): string {
  return JSON.stringify({ exchange_name: exchange, key, payload: benchPayload() });
}

export function publishFrame(exchange: string, key: string): string {
  return JSON.stringify({ type: "PUBLISH", payload: { exchange_name: exchange, key, payload: benchPayload() } });
}

export function subscribeFrame(queue: string): string {
  return JSON.stringify({ type: "SUBSCRIBE", payload: { queue_name: queue } });
}

/** pubsub's opt-in batched subscription [BATCH-1]: not the seed's, which has no `batch`. */
export function batchedSubscribeFrame(queue: string): string {
  return JSON.stringify({ type: "SUBSCRIBE", payload: { queue_name: queue, batch: true } });
}
