import { validateBindingKey } from "../names.ts";
import { bindingSet, type ExchangeType, type Router } from "./types.ts";

/** Every bound queue, whatever the routing key. */
export const fanout: ExchangeType = {
  kind: "fanout",
  validateBinding: (binding) => validateBindingKey(binding.key),
  createRouter: (): Router => {
    const bindings = bindingSet();
    // A queue can be bound by several bindings (other keys or args); count them so it routes once.
    const queues = new Map<string, number>();
    return {
      bindings,
      bind(binding) {
        if (!bindings.add(binding)) return;
        queues.set(binding.queue, (queues.get(binding.queue) ?? 0) + 1);
      },
      unbind(binding) {
        if (!bindings.delete(binding)) return false;
        const left = (queues.get(binding.queue) ?? 1) - 1;
        if (left === 0) queues.delete(binding.queue);
        else queues.set(binding.queue, left);
        return true;
      },
      route: () => [...queues.keys()],
    };
  },
};
