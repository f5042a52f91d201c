/**
 * Runs one measurement `runs` times. On a shared machine someone else's work can take a core in
 * the middle of a run; such a run (CPU "other" above BUSY_MACHINE_PERCENT) is set aside and
 * repeated, at most `runs` extra times, so the median comes from clean runs where possible.
 */
import { BUSY_MACHINE_PERCENT, type CpuUse } from "./cpu-note.ts";

export type Repeated<T> = {
  /** Clean runs first; contaminated ones fill in only when too few were clean. */
  runs: T[];
  /** Contaminated runs set aside. */
  discarded: number;
  /** Why a run failed, if one did: the row is then skipped. */
  failure: string | null;
};

export async function repeatClean<T extends { cpu: CpuUse }>(runs: number, once: () => Promise<T>): Promise<Repeated<T>> {
  const clean: T[] = [];
  const busy: T[] = [];
  for (let attempt = 0; attempt < runs * 2 && clean.length < runs; attempt++) {
    let result: T;
    try {
      result = await once();
    } catch (error) {
      return { runs: [], discarded: 0, failure: (error instanceof Error ? error.message : String(error)).split("\n")[0]! };
    }
    if ((result.cpu.other ?? 0) > BUSY_MACHINE_PERCENT) busy.push(result);
    else clean.push(result);
  }
  const used = [...clean, ...busy.slice(0, Math.max(0, runs - clean.length))];
  return { runs: used, discarded: busy.length - (used.length - clean.length), failure: null };
}

export function discardedNote(discarded: number): string | null {
  return discarded ? `${discarded} run(s) discarded and repeated: other work took CPU` : null;
}
