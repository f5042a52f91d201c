import { validateBindingKey } from "../names.ts";
import { bindingSet, type ExchangeType, type Router } from "./types.ts";

/** Queues bound with exactly the message's routing key (case-sensitive); the key is opaque. */
export const direct: ExchangeType = {
  kind: "direct",
  validateBinding: (binding) => validateBindingKey(binding.key),
  createRouter: (): Router => {
    const bindings = bindingSet();
    // key → queue → how many bindings (same key, other args) lead there: one lookup per publish.
    const byKey = new Map<string, Map<string, number>>();
    return {
      bindings,
      bind(binding) {
        if (!bindings.add(binding)) return;
        let queues = byKey.get(binding.key);
        if (!queues) byKey.set(binding.key, (queues = new Map()));
        queues.set(binding.queue, (queues.get(binding.queue) ?? 0) + 1);
      },
      unbind(binding) {
        if (!bindings.delete(binding)) return false;
        const queues = byKey.get(binding.key);
        if (!queues) return true;
        const left = (queues.get(binding.queue) ?? 1) - 1;
        if (left > 0) queues.set(binding.queue, left);
        else if (queues.delete(binding.queue) && queues.size === 0) byKey.delete(binding.key);
        return true;
      },
      route: (message) => [...(byKey.get(message.routingKey)?.keys() ?? [])],
    };
  },
};
