/** Queues: the paged list, declare (with the common arguments) and delete. */
import { useCallback, useState } from "preact/hooks";
import { api, type PageQuery, type Queue } from "../api.ts";
import { bytes, count } from "../format.ts";
import { html } from "../html.ts";
import { queueHref } from "../router.ts";
import { ErrorNotice, SuccessNotice, useAction } from "../widgets/action.ts";
import { ConfirmButton } from "../widgets/confirm.ts";
import { PagedTable, type Column } from "../widgets/paged-table.ts";

export function QueuesPage() {
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  const remove = useAction((name: string) => api.deleteQueue(name).then((removed) => ({ name, messages: removed.messages })));
  const load = useCallback((q: PageQuery) => api.queues(q), []);
  const columns: Column<Queue>[] = [
    { sort: "name", label: "Name", render: (q) => html`<a href=${queueHref(q.name)}>${q.name}</a>` },
    { sort: "durable", label: "Durable", render: (q) => (q.durable ? "yes" : "no") },
    { sort: "messages", label: "Ready", numeric: true, render: (q) => count(q.messages) },
    { sort: "unacked", label: "Unacked", numeric: true, render: (q) => count(q.unacked) },
    { sort: "bytes", label: "Bytes", numeric: true, render: (q) => bytes(q.bytes) },
    { sort: "consumers", label: "Consumers", numeric: true, render: (q) => count(q.consumers) },
    { sort: "subscribers", label: "Subscribers", numeric: true, render: (q) => count(q.subscribers) },
    {
      label: "Actions",
      render: (q) =>
        html`<${ConfirmButton} label="Delete" subject=${q.name} question=${`Delete the queue “${q.name}”, its ${count(q.messages)} waiting messages and its bindings?`} confirmLabel="Delete"
          onConfirm=${() => remove.run(q.name).then((done) => done !== undefined && changed())} />`,
    },
  ];
  return html`
    <h1 tabindex="-1">Queues</h1>
    <${DeclareQueue} onDeclared=${changed} />
    <section aria-labelledby="queue-list">
      <h2 id="queue-list">All queues</h2>
      <${ErrorNotice} error=${remove.error} />
      <${SuccessNotice} text=${remove.result === undefined ? undefined : `Deleted the queue “${remove.result.name}” and ${count(remove.result.messages)} messages.`} />
      <${PagedTable} caption="Queues" columns=${columns} load=${load} rowKey=${(q: Queue) => q.name} version=${version} />
    </section>
  `;
}

/** Optional arguments offered in the form; the rest of the README's table is a POST away. */
const NUMBER_ARGS = [
  ["max_length", "Max length (messages)"],
  ["max_bytes", "Max bytes"],
  ["message_ttl", "Message TTL (ms)"],
  ["delivery_limit", "Delivery limit"],
] as const;
const TEXT_ARGS = [
  ["dead_letter_exchange", "Dead-letter exchange"],
  ["dead_letter_routing_key", "Dead-letter routing key"],
] as const;

/**
 * A number field is sent as a number when it reads as one and as typed otherwise: the broker
 * checks it and its message says what is wrong, in the same words the API gives.
 */
const numberOrText = (text: string): number | string => (/^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text);

function DeclareQueue({ onDeclared }: { onDeclared: () => void }) {
  const [fields, setFields] = useState<Record<string, string>>({ name: "", overflow: "" });
  const [durable, setDurable] = useState(true);
  const set = (key: string) => (e: Event) => setFields({ ...fields, [key]: (e.target as HTMLInputElement).value });
  const declare = useAction(() => {
    const body: Record<string, unknown> = { name: fields.name ?? "", durable };
    for (const [key] of NUMBER_ARGS) if ((fields[key] ?? "") !== "") body[key] = numberOrText(fields[key] ?? "");
    for (const [key] of TEXT_ARGS) if ((fields[key] ?? "") !== "") body[key] = fields[key];
    if ((fields.overflow ?? "") !== "") body.overflow = fields.overflow;
    return api.declareQueue(body as Parameters<typeof api.declareQueue>[0]);
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    if ((await declare.run()) !== undefined) onDeclared();
  };
  return html`
    <section aria-labelledby="declare-queue">
      <h2 id="declare-queue">Declare a queue</h2>
      <form class="inline-form" onSubmit=${submit}>
        <label>Name <input name="name" value=${fields.name} onInput=${set("name")} /></label>
        <label class="check"><input type="checkbox" name="durable" checked=${durable} onChange=${(e: Event) => setDurable((e.target as HTMLInputElement).checked)} /> Durable</label>
        <details class="more">
          <summary>Arguments</summary>
          <div class="grid-form">
            ${NUMBER_ARGS.map(([key, label]) => html`<label>${label} <input name=${key} inputmode="numeric" value=${fields[key] ?? ""} onInput=${set(key)} /></label>`)}
            ${TEXT_ARGS.map(([key, label]) => html`<label>${label} <input name=${key} value=${fields[key] ?? ""} onInput=${set(key)} /></label>`)}
            <label>When full
              <select aria-label="When full" name="overflow" value=${fields.overflow} onChange=${set("overflow")}>
                <option value="">default (drop-head)</option><option value="drop-head">drop-head</option><option value="reject-publish">reject-publish</option>
              </select>
            </label>
          </div>
        </details>
        <button type="submit" class="primary" disabled=${declare.busy}>Declare</button>
      </form>
      <${ErrorNotice} error=${declare.error} />
      <${SuccessNotice} text=${declare.result === undefined ? undefined : declare.result.created ? `Declared the queue “${fields.name}”.` : `The queue “${fields.name}” exists already, with these properties.`} />
    </section>
  `;
}
