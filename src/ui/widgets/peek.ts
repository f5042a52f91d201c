/**
 * Peek (GET /queues/:name/messages): a page of messages by seq, nothing consumed or reordered.
 * Selected ones (or all ready ones) can be moved: back to the queue each died in, or to another.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type Headers, type Peek } from "../api.ts";
import { count } from "../format.ts";
import { html } from "../html.ts";
import { ErrorNotice, SuccessNotice, useAction } from "./action.ts";
import { MessageCard } from "./message-card.ts";
import { withoutDeathHeaders, type Draft } from "./publish-form.ts";

const PAGE_LIMITS = [10, 25, 50, 100];

type Props = { queue: string; version: number; onChanged: () => void; onRepublish: (draft: Draft) => void };

export function PeekPanel({ queue, version, onChanged, onRepublish }: Props) {
  const [after, setAfter] = useState(0);
  const [trail, setTrail] = useState<number[]>([]);
  const [limit, setLimit] = useState(25);
  const [peek, setPeek] = useState<Peek | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [scope, setScope] = useState<"selected" | "all">("selected");
  const [target, setTarget] = useState<"origin" | "queue">("origin");
  const [destination, setDestination] = useState("");

  useEffect(() => {
    api.peek(queue, after, limit).then(
      (answer) => {
        setPeek(answer);
        setError(undefined);
      },
      setError,
    );
  }, [queue, after, limit, version]);

  const move = useAction(async () => {
    if (target === "queue" && destination === "") throw new Error("Name the queue to move them to.");
    if (scope === "selected" && selected.size === 0) throw new Error("Select messages first, or choose all ready messages.");
    return api.move(queue, { ...(target === "queue" ? { to: destination } : {}), ...(scope === "selected" ? { seqs: [...selected].sort((a, b) => a - b) } : {}) });
  });
  const submitMove = async (event: Event) => {
    event.preventDefault();
    if ((await move.run()) !== undefined) {
      setSelected(new Set());
      onChanged();
    }
  };
  const toggle = (seq: number) => {
    const next = new Set(selected);
    if (next.has(seq)) next.delete(seq);
    else next.add(seq);
    setSelected(next);
  };
  const next = () => {
    if (peek?.next_after == null) return;
    setTrail([...trail, after]);
    setAfter(peek.next_after);
  };
  const previous = () => {
    setAfter(trail[trail.length - 1] ?? 0);
    setTrail(trail.slice(0, -1));
  };

  return html`
    <div class="inline-form">
      <label>Per page
        <select aria-label="Per page" value=${limit} onChange=${(e: Event) => { setLimit(Number((e.target as HTMLSelectElement).value)); setAfter(0); setTrail([]); }}>
          ${PAGE_LIMITS.map((n) => html`<option value=${n}>${n}</option>`)}
        </select>
      </label>
      <button type="button" onClick=${() => { setAfter(0); setTrail([]); onChanged(); }}>Refresh</button>
      <span class="muted" role="status">${peek === undefined ? (error === undefined ? "Loading…" : "") : peek.messages.length === 0 ? "No messages here." : `Seq ${peek.messages[0]?.seq} to ${peek.messages[peek.messages.length - 1]?.seq}`}</span>
    </div>
    <${ErrorNotice} error=${error} />
    <ol class="messages" aria-label="Messages, oldest first">
      ${peek?.messages.map((m) => html`<li key=${m.seq}><${MessageCard} message=${m} checked=${selected.has(m.seq)} onToggle=${() => toggle(m.seq)} onRepublish=${() =>
        onRepublish({ exchange_name: m.exchange, key: m.routing_key, payload: m.payload, headers: withoutDeathHeaders(m.headers as Headers), from: m.seq })} /></li>`)}
    </ol>
    <nav class="pager" aria-label="Pages of messages">
      <button type="button" disabled=${after === 0} onClick=${() => { setAfter(0); setTrail([]); }}>First</button>
      <button type="button" disabled=${trail.length === 0} onClick=${previous}>Previous</button>
      <button type="button" disabled=${peek?.next_after == null} onClick=${next}>Next</button>
    </nav>
    <form class="move-form" onSubmit=${submitMove} aria-labelledby="move-heading">
      <h3 id="move-heading">Move or redrive</h3>
      <fieldset>
        <legend>Which messages</legend>
        <label class="check"><input type="radio" name="scope" checked=${scope === "selected"} onChange=${() => setScope("selected")} /> The ${count(selected.size)} selected</label>
        <label class="check"><input type="radio" name="scope" checked=${scope === "all"} onChange=${() => setScope("all")} /> All ready messages</label>
      </fieldset>
      <fieldset>
        <legend>To</legend>
        <label class="check"><input type="radio" name="target" checked=${target === "origin"} onChange=${() => setTarget("origin")} /> Back to the queue each died in (from its x-death header)</label>
        <label class="check"><input type="radio" name="target" checked=${target === "queue"} onChange=${() => setTarget("queue")} /> The queue</label>
        <label>Destination queue <input name="to" value=${destination} disabled=${target !== "queue"} onInput=${(e: Event) => setDestination((e.target as HTMLInputElement).value)} /></label>
      </fieldset>
      <button type="submit" class="primary" disabled=${move.busy}>Move</button>
      <${ErrorNotice} error=${move.error} />
      <${SuccessNotice} text=${move.result === undefined ? undefined : `Moved ${count(move.result.moved)} ${move.result.moved === 1 ? "message" : "messages"}${move.result.skipped > 0 ? `; skipped ${count(move.result.skipped)} (no death history, or not ready)` : ""}.`} />
    </form>
  `;
}
