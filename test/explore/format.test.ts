/** The one formatter of exploration results, shared by the CLI and gpuvm-sim/vitest. */
import { describe, expect, it } from "vitest";
import { explore } from "../../src/index.js";
import { failureHeading, formatStatistics, formatSummary, plural } from "../../src/explore/format.js";
import { abba, abbaFixed, busyForever } from "./fixtures/scenarios.js";

describe("format", () => {
  it("plural", () => {
    expect([plural(0, "run"), plural(1, "run"), plural(2, "run")]).toEqual(["0 runs", "1 run", "2 runs"]);
  });

  it("a failure's heading names its kind, the strategy and execution that found it, and the shrinking", () => {
    const r = explore(abba, { strategy: "random", executions: 200, seed: 3 });
    const f = r.failures[0];
    expect(f).toBeDefined();
    if (f === undefined) return;
    expect(failureHeading(f, 0, 1)).toMatch(new RegExp(`^Failure 1 of 1: ${f.report.kind}, found by random at execution ${f.execution}`));
  });

  it("statistics say why the run stopped, and a step-bound run says to raise maxSteps", () => {
    const proof = explore(abbaFixed, { strategy: "dfs", executions: 100 });
    expect(formatStatistics(proof, "dfs")).toMatch(/stopped by exhausted \(explored every schedule \(DFS exhausted\)\)/);
    const cut = explore(busyForever, { strategy: "dfs", executions: 10, maxSteps: 30 });
    expect(formatStatistics(cut, "dfs")).toMatch(/stopped by step-bound \(DFS ran out of schedules, but some executions reached maxSteps: not a proof/);
    expect(formatSummary("busy", cut, "dfs")).toMatch(/^busy: passed 1 execution; strategy dfs; stopped by step-bound;[^\n]*\n {2}1 execution hit --max-steps before finishing: raise --max-steps$/);
  });
});
