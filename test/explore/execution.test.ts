/** One execution: newSim (fresh or reused), runOne and what counts as a failure, withToken. */
import { describe, expect, it } from "vitest";
import { newSim, Reuse, runOne, scenarioName, withToken } from "../../src/explore/execution.js";
import { RandomWalk } from "../../src/explore/strategy/random.js";
import { abba, abbaFixed, busyForever } from "./fixtures/scenarios.js";

describe("execution", () => {
  it("a reused Sim runs the same as a fresh one: same trace, same reports", () => {
    const reuse = new Reuse();
    for (let seed = 0; seed < 20; seed++) {
      const fresh = newSim(seed, 1000, { lockdep: false });
      const a = runOne(abba, fresh, new RandomWalk(seed));
      const reused = newSim(seed, 1000, { lockdep: false }, false, reuse);
      const b = runOne(abba, reused, new RandomWalk(seed));
      expect(b.trace).toBe(a.trace);
      expect(b.reports.map((r) => r.kind)).toEqual(a.reports.map((r) => r.kind));
    }
  });

  it("a clean run files nothing; a step-limit hit is counted, not a failure", () => {
    const clean = runOne(abbaFixed, newSim(1, 1000, null), new RandomWalk(1));
    expect(clean).toMatchObject({ fp: null, stepBound: false });
    expect(clean.reports).toEqual([]);
    const busy = runOne(busyForever, newSim(1, 50, null), new RandomWalk(1));
    expect(busy).toMatchObject({ fp: null, stepBound: true });
  });

  it("withToken puts the explorer's token where the Sim's own was", () => {
    // The first seed whose walk deadlocks (a few of every ten do).
    let out = runOne(abba, newSim(0, 1000, { lockdep: false }), new RandomWalk(0));
    for (let seed = 1; seed < 50 && out.reports.length === 0; seed++) out = runOne(abba, newSim(seed, 1000, { lockdep: false }), new RandomWalk(seed));
    const first = out.reports[0];
    expect(first?.kind).toBe("deadlock");
    const [again] = withToken(out.reports, "gpuvm-sim:2:test", out.simToken);
    expect(again?.replay).toBe("gpuvm-sim:2:test");
    expect(first?.replay).toBe(out.simToken);
  });

  it("names a scenario by its option, else its function name, else scenario", () => {
    expect(scenarioName(abba, "given")).toBe("given");
    expect(scenarioName(abba, undefined)).toBe("abba");
    expect(scenarioName(() => undefined, null)).toBe("scenario");
  });
});
