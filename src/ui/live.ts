/**
 * The overview's live feed: the broker's ring buffer (GET /overview/history) once, then one
 * EventSource adding a sample a second. Closed while the tab is hidden — nothing runs then — and
 * on return the history is read again, filling the gap.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Sample } from "./api.ts";

/** The broker keeps 600 one-second samples: ten minutes. */
export const HISTORY_SAMPLES = 600;

export type Live = { samples: Sample[]; state: "connecting" | "live" | "paused" | "lost" };

export function useLiveSamples(onSample?: (sample: Sample) => void): Live {
  const [live, setLive] = useState<Live>({ samples: [], state: "connecting" });
  const callback = useRef(onSample);
  callback.current = onSample;

  useEffect(() => {
    let source: EventSource | undefined;
    let generation = 0;
    const append = (sample: Sample) =>
      setLive((now) => {
        const last = now.samples[now.samples.length - 1];
        if (last !== undefined && sample.t <= last.t) return now;
        const samples = [...now.samples, sample];
        return { samples: samples.length > HISTORY_SAMPLES ? samples.slice(samples.length - HISTORY_SAMPLES) : samples, state: "live" };
      });
    const readHistory = (mine: number) =>
      api
        .history()
        .then((history) => mine === generation && setLive({ samples: history.samples.slice(-HISTORY_SAMPLES), state: "live" }))
        .catch(() => mine === generation && setLive((now) => ({ ...now, state: "lost" })));
    const start = () => {
      const mine = ++generation;
      let interrupted = false;
      setLive((now) => ({ ...now, state: "connecting" }));
      void readHistory(mine);
      source = new EventSource(api.streamUrl);
      // Back after a broker restart or a network blip: the ring buffer fills the gap.
      source.onopen = () => {
        if (interrupted) void readHistory(mine);
        interrupted = false;
      };
      source.addEventListener("sample", (event) => {
        const sample = JSON.parse((event as MessageEvent<string>).data) as Sample;
        append(sample);
        callback.current?.(sample);
      });
      // EventSource reconnects by itself; say so meanwhile. It gives up on an answer that is not a
      // stream (a 401 once the session has gone): asking who we are then shows the login form.
      source.onerror = () => {
        interrupted = true;
        const closed = source?.readyState === EventSource.CLOSED;
        if (closed) void api.session().catch(() => undefined);
        if (mine === generation) setLive((now) => ({ ...now, state: closed ? "lost" : "connecting" }));
      };
    };
    const stop = () => {
      generation++;
      source?.close();
      source = undefined;
    };
    const onVisibility = () => {
      if (document.hidden) {
        stop();
        setLive((now) => ({ ...now, state: "paused" }));
      } else if (source === undefined) start();
    };
    if (!document.hidden) start();
    else setLive((now) => ({ ...now, state: "paused" }));
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      document.removeEventListener("visibilitychange", onVisibility);
      stop();
    };
  }, []);
  return live;
}
