/**
 * Which bindings a message with this key and these headers takes: the broker's own exchange types
 * (src/core/exchanges) answer, binding by binding, so the page never has a second copy of the
 * topic or headers rules.
 */
import { exchangeTypes, isExchangeKind } from "../core/exchanges/index.ts";
import type { MessageHeaders } from "../core/exchanges/types.ts";
import type { Binding } from "./api.ts";

export function takesBinding(exchangeType: string, binding: Binding, routingKey: string, headers: MessageHeaders): boolean {
  if (!isExchangeKind(exchangeType)) return false;
  const router = exchangeTypes[exchangeType].createRouter();
  router.bind({ exchange: binding.exchange_name, queue: binding.queue_name, key: binding.key, args: binding.arguments });
  return router.route({ routingKey, headers }).length > 0;
}
