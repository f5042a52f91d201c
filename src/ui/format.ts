/** How numbers read on the page: one place, so every page says "1.2 MiB" the same way. */
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

const integer = new Intl.NumberFormat("en");
export const count = (n: number): string => integer.format(n);

export const rate = (perSecond: number): string => (perSecond >= 100 ? integer.format(Math.round(perSecond)) : perSecond.toFixed(1)) + "/s";

export const millis = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);

export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s % 60}s`;
}

/** Epoch ms as local date and time, to the second (ISO order: sorts and compares at a glance). */
export function time(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Epoch ms as the local time of day, to the second. */
export const clock = (ms: number): string => time(ms).slice(11);

export const json = (value: unknown): string => JSON.stringify(value, null, 2) ?? "undefined";
