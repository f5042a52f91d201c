import { validateBindingKey } from "../names.ts";
import { bindingId, type ExchangeType, type Router } from "./types.ts";

/** Every bound queue, whatever the routing key. */
export const fanout: ExchangeType = {
  kind: "fanout",
  validateBinding: (binding) => validateBindingKey(binding.key),
  createRouter: (): Router => {
    const ids = new Set<string>();
    // A queue can be bound by several bindings (other keys or args); count them so it routes once.
    const queues = new Map<string, number>();
    return {
      bind(binding) {
        const id = bindingId(binding);
        if (ids.has(id)) return;
        ids.add(id);
        queues.set(binding.queue, (queues.get(binding.queue) ?? 0) + 1);
      },
      unbind(binding) {
        if (!ids.delete(bindingId(binding))) return false;
        const left = (queues.get(binding.queue) ?? 1) - 1;
        if (left === 0) queues.delete(binding.queue);
        else queues.set(binding.queue, left);
        return true;
      },
      route: () => [...queues.keys()],
    };
  },
};
