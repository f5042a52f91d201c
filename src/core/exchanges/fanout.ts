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
    /** The same for every message until a binding changes: made once, not per publish. */
    let routed: readonly string[] | undefined;
    return {
      bindings,
      bind(binding) {
        if (!bindings.add(binding)) return;
        routed = undefined;
        queues.set(binding.queue, (queues.get(binding.queue) ?? 0) + 1);
      },
      unbind(binding) {
        if (!bindings.delete(binding)) return false;
        routed = undefined;
        const left = (queues.get(binding.queue) ?? 1) - 1;
        if (left === 0) queues.delete(binding.queue);
        else queues.set(binding.queue, left);
        return true;
      },
      route: () => (routed ??= [...queues.keys()]),
    };
  },
};
