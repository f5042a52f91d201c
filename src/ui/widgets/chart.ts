/**
 * A uPlot line chart. The plot is made once and fed new data in place (setData), so a sample a
 * second costs a redraw, not a rebuild. Its numbers are also in the page as text, for readers
 * that cannot see a canvas.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { html } from "../html.ts";

export type ChartSeries = { label: string; stroke: string; format: (value: number) => string };

type Props = { title: string; series: ChartSeries[]; data: uPlot.AlignedData; height?: number };

export function Chart({ title, series, data, height = 220 }: Props) {
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
      axes: [{ stroke: "#333" }, { stroke: "#333", size: 60, values: (_u: uPlot, ticks: number[]) => ticks.map((v) => (series[0] ? series[0].format(v) : String(v))) }],
      // Rates, bytes and stalls are never negative: the axis starts at 0, whatever the data.
      scales: { x: { time: true }, y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] } },
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
  }, [series, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return html`<figure class="chart"><figcaption>${title}</figcaption><div ref=${box} role="img" aria-label=${title}></div></figure>`;
}
