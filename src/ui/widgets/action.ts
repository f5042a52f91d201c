/**
 * A button's or form's call to the broker: busy while it runs, then the broker's answer or its
 * error, shown where the action is (an alert region, so screen readers hear it).
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api.ts";
import { html } from "../html.ts";

export type ActionState<T> = { busy: boolean; error: ApiError | Error | undefined; result: T | undefined };

export function useAction<A extends unknown[], T>(act: (...args: A) => Promise<T>) {
  const [state, setState] = useState<ActionState<T>>({ busy: false, error: undefined, result: undefined });
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  const run = useCallback(
    async (...args: A): Promise<T | undefined> => {
      setState({ busy: true, error: undefined, result: undefined });
      try {
        const result = await act(...args);
        if (mounted.current) setState({ busy: false, error: undefined, result });
        return result;
      } catch (error) {
        if (mounted.current) setState({ busy: false, error: error instanceof Error ? error : new Error(String(error)), result: undefined });
        return undefined;
      }
    },
    [act],
  );
  const clear = useCallback(() => setState({ busy: false, error: undefined, result: undefined }), []);
  return { ...state, run, clear };
}

/** The broker's message, with its code, as it sent them. */
export function ErrorNotice({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  const code = error instanceof ApiError ? error.code : "ERROR";
  return html`<p class="notice error" role="alert"><strong>${code}</strong> ${error.message}</p>`;
}

export function SuccessNotice({ text }: { text: string | undefined }) {
  if (text === undefined) return null;
  return html`<p class="notice ok" role="status">${text}</p>`;
}
