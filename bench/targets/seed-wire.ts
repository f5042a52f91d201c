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
