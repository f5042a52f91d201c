/** Overview: what the broker is doing now and over the last ten minutes. */
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import { api, type Overview, type Rates, type Sample } from "../api.ts";
import { bytes, clock, count, duration, millis, rate } from "../format.ts";
import { html } from "../html.ts";
import { HISTORY_SAMPLES, useLiveSamples } from "../live.ts";
import { ErrorNotice } from "../widgets/action.ts";
import { Chart, type ChartSeries } from "../widgets/chart.ts";

/** The overview's counts are read again every this many live samples (so never while hidden). */
const REFRESH_EVERY_SAMPLES = 5;

const RATES: { key: keyof Rates; label: string; stroke: string }[] = [
  { key: "published", label: "Published", stroke: "#1f5fbf" },
  { key: "routed", label: "Routed", stroke: "#2a7d2a" },
  { key: "unroutable", label: "Unroutable", stroke: "#b35900" },
  { key: "delivered", label: "Delivered", stroke: "#6a3d9a" },
  { key: "acknowledged", label: "Acknowledged", stroke: "#0b7285" },
  { key: "redelivered", label: "Redelivered", stroke: "#a61e4d" },
  { key: "dead_lettered", label: "Dead-lettered", stroke: "#444" },
];
const RATE_SERIES: ChartSeries[] = RATES.map((r) => ({ label: r.label, stroke: r.stroke, format: rate }));
const BYTES_SERIES: ChartSeries[] = [{ label: "Queued bytes", stroke: "#1f5fbf", format: bytes }];
const CONNECTION_SERIES: ChartSeries[] = [{ label: "Connections", stroke: "#2a7d2a", format: (v) => count(Math.round(v)) }];
const STALL_SERIES: ChartSeries[] = [{ label: "Worst stall", stroke: "#a61e4d", format: millis }];

/** The charts span what the broker keeps: 600 one-second samples. */
const WINDOW_SECONDS = HISTORY_SAMPLES;

const column = (samples: Sample[], pick: (s: Sample) => number) => samples.map(pick);

export function OverviewPage() {
  const [overview, setOverview] = useState<Overview | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const seen = useRef(0);
  const refresh = useCallback(() => {
    api.overview().then(
      (o) => {
        setOverview(o);
        setError(undefined);
      },
      setError,
    );
  }, []);
  useEffect(refresh, [refresh]);
  const live = useLiveSamples(() => {
    if (++seen.current % REFRESH_EVERY_SAMPLES === 0) refresh();
  });
  const samples = live.samples;
  const times = useMemo(() => column(samples, (s) => s.t / 1000), [samples]);
  const rateData = useMemo(() => [times, ...RATES.map((r) => column(samples, (s) => s.rates[r.key] ?? 0))] as uPlot.AlignedData, [samples, times]);
  const bytesData = useMemo(() => [times, column(samples, (s) => s.queued_bytes)] as uPlot.AlignedData, [samples, times]);
  const connectionData = useMemo(() => [times, column(samples, (s) => s.connections)] as uPlot.AlignedData, [samples, times]);
  const stallData = useMemo(() => [times, column(samples, (s) => s.max_stall_ms)] as uPlot.AlignedData, [samples, times]);
  const latest = samples[samples.length - 1];

  return html`
    <h1 tabindex="-1">Overview</h1>
    <${ErrorNotice} error=${error} />
    ${overview === undefined
      ? html`<p>Loading…</p>`
      : html`
          <p class="muted">pubsub ${overview.version} on ${overview.node}, up ${duration(overview.uptime_seconds)}${" · "}<span class=${`live ${live.state}`} role="status" data-testid="live-state">${{ connecting: "connecting…", live: "live", paused: "paused (tab hidden)", lost: "live feed lost" }[live.state]}</span>
            ${latest === undefined ? null : html` · <span class="muted" data-testid="last-sample">sample of ${clock(latest.t)}</span>`}</p>
          ${overview.cluster === null
            ? null
            : html`<p class="muted" data-testid="cluster">Cluster ${overview.cluster.name}: ${overview.cluster.leader} leads;
                nodes ${overview.cluster.nodes.map((n, i) => html`${i > 0 ? ", " : ""}${n.node} (${n.role})`)}</p>`}
          ${overview.alarms.length > 0
            ? html`<div class="notice error" role="alert"><strong>Alarms</strong><ul>${overview.alarms.map((a) => html`<li><strong>${a.name}</strong>: ${a.reason}</li>`)}</ul></div>`
            : null}
          <${Stats} overview=${overview} latest=${latest} />
        `}
    <section aria-labelledby="rates-heading">
      <h2 id="rates-heading">Message rates</h2>
      <${Chart} title="Messages per second, last 10 minutes" series=${RATE_SERIES} data=${rateData} windowSeconds=${WINDOW_SECONDS} />
      <${RatesTable} latest=${latest?.rates} totals=${overview?.totals} />
    </section>
    <section aria-labelledby="load-heading">
      <h2 id="load-heading">Load</h2>
      <div class="charts">
        <${Chart} title="Queued bytes" series=${BYTES_SERIES} data=${bytesData} height=${160} windowSeconds=${WINDOW_SECONDS} />
        <${Chart} title="Connections" series=${CONNECTION_SERIES} data=${connectionData} height=${160} windowSeconds=${WINDOW_SECONDS} integer />
        <${Chart} title="Worst event-loop stall per second" series=${STALL_SERIES} data=${stallData} height=${160} windowSeconds=${WINDOW_SECONDS} />
      </div>
    </section>
  `;
}

function Stats({ overview, latest }: { overview: Overview; latest: Sample | undefined }) {
  const queued = latest?.queued_bytes ?? overview.queued_bytes;
  const share = overview.max_queued_bytes > 0 ? queued / overview.max_queued_bytes : 0;
  return html`
    <dl class="stats">
      <div><dt>Connections</dt><dd>${count(latest?.connections ?? overview.connections)}</dd></div>
      <div><dt>Exchanges · queues · bindings</dt><dd>${count(overview.exchanges)} · ${count(overview.queues)} · ${count(overview.bindings)}</dd></div>
      <div><dt>Consumers · subscribers</dt><dd>${count(overview.consumers)} · ${count(overview.subscribers)}</dd></div>
      <div><dt>Messages ready · unacked</dt><dd>${count(overview.messages_ready)} · ${count(overview.messages_unacked)}</dd></div>
      <div>
        <dt id="queued-label">Queued bytes of MAX_QUEUED_BYTES</dt>
        <dd>${bytes(queued)} of ${bytes(overview.max_queued_bytes)} (${(share * 100).toFixed(1)}%)
          <meter aria-labelledby="queued-label" min="0" max=${overview.max_queued_bytes} high=${overview.max_queued_bytes * 0.8} value=${queued}></meter></dd>
      </div>
      <div>
        <dt>Store</dt>
        <dd><span class=${`badge ${overview.store.status}`}>${overview.store.status}</span> ${overview.store.backend} <span class="muted">${overview.store.location}</span>
          ${overview.store.last_error !== null && overview.store.last_error !== "" ? html`<br /><span class="error-text">${overview.store.last_error}</span>` : null}</dd>
      </div>
      <div><dt>Worst event-loop stall</dt><dd>${millis(overview.event_loop.recent_max_stall_ms)} recently · ${millis(overview.event_loop.max_stall_ms)} since start</dd></div>
    </dl>
  `;
}

function RatesTable({ latest, totals }: { latest: Rates | undefined; totals: Rates | undefined }) {
  return html`
    <table class="compact">
      <caption>Rates now and totals since start</caption>
      <thead><tr><th scope="col">Messages</th><th scope="col" class="num">Now</th><th scope="col" class="num">Total</th></tr></thead>
      <tbody>
        ${RATES.map(
          (r) => html`<tr><th scope="row"><span class="swatch" style=${{ background: r.stroke }} aria-hidden="true"></span>${r.label}</th>
            <td class="num">${latest === undefined ? "–" : rate(latest[r.key])}</td><td class="num">${totals === undefined ? "–" : count(totals[r.key])}</td></tr>`,
        )}
      </tbody>
    </table>
  `;
}
