/** RESULTS.md is rewritten by every run; what people wrote into it by hand must survive. */
import { expect, test } from "bun:test";
import { handWrittenSections, resultsMarkdown } from "./report.ts";

const info = { date: "d", cpu: "c", bun: "b", command: "x", durationS: 1, targets: [], settings: [] };

test("hand-written sections are kept, generated ones are replaced", () => {
  const first = resultsMarkdown(info, [], "## Where we stand (old)\n\n- old");
  const edited = first.replace("## Results", "## Profiling: before and after\n\n| a | b |\n\n## Results");
  const kept = handWrittenSections(edited);
  expect(kept).toEqual(["## Profiling: before and after\n\n| a | b |"]);
  const second = resultsMarkdown(info, [], "## Where we stand (new)\n\n- new", kept);
  expect(second).toContain("## Profiling: before and after\n\n| a | b |\n\n## Results");
  expect(second).not.toContain("(old)");
  expect(handWrittenSections(second)).toEqual(kept);
});
