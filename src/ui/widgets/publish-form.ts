/**
 * Publish one message (POST /publish). "Publish again" on a peeked message fills it in: same
 * exchange, key, headers and body, minus the death headers the broker writes itself.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Headers, type Publish } from "../api.ts";
import { json } from "../format.ts";
import { html } from "../html.ts";
import { parseJsonField } from "../json-input.ts";
import { ErrorNotice, SuccessNotice, useAction } from "./action.ts";

/** Headers the broker sets when it dead-letters; a republished copy starts without a death history. */
const DEATH_HEADER = /^x-(death|first-death-|last-death-)/;
export const withoutDeathHeaders = (headers: Headers): Headers => Object.fromEntries(Object.entries(headers).filter(([name]) => !DEATH_HEADER.test(name)));

export type Draft = Publish & { from?: number };

export function PublishForm({ draft, onPublished }: { draft: Draft; onPublished: () => void }) {
  // The caller keys the form by its draft: a new draft is a new form, its fields filled from the start.
  const [exchange, setExchange] = useState(draft.exchange_name);
  const [key, setKey] = useState(draft.key);
  const [headersText, setHeadersText] = useState(draft.headers === undefined || Object.keys(draft.headers).length === 0 ? "" : json(draft.headers));
  const [payloadText, setPayloadText] = useState(json(draft.payload));
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (draft.from !== undefined) first.current?.focus();
  }, []);
  const publish = useAction(async () => {
    const payload = parseJsonField("The body", payloadText, undefined);
    if (!payload.ok) throw new Error(payload.message);
    if (payload.value === undefined) throw new Error("The body is empty: write a JSON value (\"text\" needs its quotes).");
    const headers = parseJsonField("The headers", headersText, undefined);
    if (!headers.ok) throw new Error(headers.message);
    return api.publish({ exchange_name: exchange, key, payload: payload.value, ...(headers.value === undefined ? {} : { headers: headers.value as Headers }) });
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    if ((await publish.run()) !== undefined) onPublished();
  };
  const text = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return html`
    <form class="stack-form" onSubmit=${submit} aria-labelledby="publish-heading">
      ${draft.from !== undefined ? html`<p class="muted">Filled in from message #${draft.from}.</p>` : null}
      <div class="inline-form">
        <label>Exchange (empty: the default exchange) <input ref=${first} name="exchange_name" value=${exchange} onInput=${text(setExchange)} /></label>
        <label>Routing key <input name="key" value=${key} onInput=${text(setKey)} /></label>
      </div>
      <label>Headers (JSON object) <textarea name="headers" rows="2" value=${headersText} onInput=${text(setHeadersText)}></textarea></label>
      <label>Body (JSON) <textarea name="payload" rows="5" value=${payloadText} onInput=${text(setPayloadText)}></textarea></label>
      <div><button type="submit" class="primary" disabled=${publish.busy}>Publish</button></div>
      <${ErrorNotice} error=${publish.error} />
      <${SuccessNotice} text=${publish.result === undefined ? undefined : publish.result.duplicate ? `A duplicate of ${publish.result.id}: not enqueued again.` : `Published ${publish.result.id}: routed to ${publish.result.routed} ${publish.result.routed === 1 ? "queue" : "queues"}.`} />
    </form>
  `;
}
