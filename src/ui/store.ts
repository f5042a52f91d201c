/**
 * A signal: one value, its subscribers told of each change. The dashboard's only shared state
 * (the route, the notices); everything else lives in the component that shows it.
 */
import { useEffect, useState } from "preact/hooks";

export type Signal<T> = {
  readonly value: T;
  set(value: T): void;
  subscribe(listener: (value: T) => void): () => void;
};

export function signal<T>(initial: T): Signal<T> {
  let value = initial;
  const listeners = new Set<(value: T) => void>();
  return {
    get value() {
      return value;
    },
    set(next) {
      if (Object.is(next, value)) return;
      value = next;
      for (const listener of listeners) listener(value);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Re-renders the component whenever the signal changes. */
export function useSignal<T>(source: Signal<T>): T {
  const [value, setValue] = useState(source.value);
  useEffect(() => {
    setValue(source.value);
    return source.subscribe(setValue);
  }, [source]);
  return value;
}
