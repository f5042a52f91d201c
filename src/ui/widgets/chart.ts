/**
 * A uPlot line chart. The plot is made once and fed new data in place (setData), so a sample a
 * second costs a redraw, not a rebuild. Its numbers are also in the page as text, for readers
 * that cannot see a canvas.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { html } from "../html.ts";

export type ChartSeries = { label: string; stroke: string; format: (value: number) => string };

type Props = {
  title: string;
  series: ChartSeries[];
  data: uPlot.AlignedData;
  height?: number;
  /** Seconds the x axis spans, ending at the newest point: a fixed window, however little data there is yet. */
  windowSeconds: number;
  /** Counts: only whole ticks on the y axis. */
  integer?: boolean;
};

/** uPlot's default steps, less those below 1 (a count has no half). */
const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000];

export function Chart({ title, series, data, height = 220, windowSeconds, integer = false }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height,
      series: [
        {},
        ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, points: { show: false }, value: (_u: uPlot, v: number | null) => (v === null ? "–" : s.format(v)) })),
      ],
      axes: [
        { stroke: "#333", space: 90 },
        { stroke: "#333", size: 60, ...(integer ? { incrs: INTEGER_STEPS } : {}), values: (_u: uPlot, ticks: number[]) => ticks.map((v) => (series[0] ? series[0].format(v) : String(v))) },
      ],
      scales: {
        x: {
          time: true,
          range: (_u: uPlot, _min: number | null, max: number | null) => {
            const end = max ?? Date.now() / 1000;
            return [end - windowSeconds, end];
          },
        },
        // Rates, bytes and stalls are never negative: the axis starts at 0, whatever the data.
        y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] },
      },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    const made = new uPlot(options, data, element);
    plot.current = made;
    const resize = new ResizeObserver(() => made.setSize({ width: Math.max(200, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      made.destroy();
      plot.current = null;
    };
    // The series are fixed per chart; data changes go through setData below.
  }, [series, height, windowSeconds, integer]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return html`<figure class="chart"><figcaption>${title}</figcaption><div ref=${box} role="img" aria-label=${title}></div></figure>`;
}
