import { describe, expect, it } from "vitest";
import { condResched, Sim, type Effect } from "../../src/index.js";
import { ReplayStrategy } from "../../src/explore/replay.js";
import { RandomWalk } from "../../src/explore/strategy/random.js";

/** Two tasks yielding twice each; records the choices a strategy makes. */
function run(strategy: (sim: Sim) => RandomWalk | ReplayStrategy, extraStep = false): Sim {
  const sim = new Sim({ onReport: "collect" });
  sim.setStrategy(strategy(sim));
  for (const n of ["a", "b"]) {
    sim.spawn(n, "process", function* (): Generator<Effect, void, unknown> {
      yield* condResched();
      if (extraStep && n === "a") yield* condResched();
      yield* condResched();
    });
  }
  sim.runAll();
  return sim;
}

describe("ReplayStrategy", () => {
  it("follows recorded choices to the same trace", () => {
    const original = run(() => new RandomWalk(7));
    let replayer: ReplayStrategy | undefined;
    const again = run((sim) => (replayer = new ReplayStrategy(sim, [...original.choices])));
    expect(again.traceHash).toBe(original.traceHash);
    expect(replayer?.divergence).toBeNull();
    expect(replayer?.complete).toBe(true);
  });

  it("says where a changed program stops following the recording", () => {
    const original = run(() => new RandomWalk(7));
    let replayer: ReplayStrategy | undefined;
    // Task a now yields once more: after its first step the effects differ.
    const changed = run((sim) => (replayer = new ReplayStrategy(sim, [...original.choices])), true);
    // Either a later choice sees effects that differ, or (if the extra step came
    // after the last choice) only the final trace differs, which replay() checks.
    expect(replayer?.divergence !== null || changed.traceHash !== original.traceHash).toBe(true);
  });

  it("notices a recording that ends early", () => {
    const original = run(() => new RandomWalk(7));
    let replayer: ReplayStrategy | undefined;
    run((sim) => (replayer = new ReplayStrategy(sim, original.choices.slice(0, 1))));
    expect(replayer?.divergence?.reason).toMatch(/more choices than the 1 recorded/);
  });
});

describe("replay()", () => {
  it("catches a change after the last recorded choice through the final trace hash", async () => {
    const { explore, replay } = await import("../../src/index.js");
    // One task only: no choices at all, so only the trace can tell.
    const one = (extra: boolean) => (sim: Sim) => {
      sim.spawn("t", "process", function* (): Generator<Effect, void, unknown> {
        yield* condResched();
        if (extra) yield* condResched();
        throw new Error("boom");
      });
    };
    const f = explore(one(false), { strategy: "random", executions: 1 }).failures[0];
    expect(f?.report.kind).toBe("task-exception");
    const token = f?.token ?? "";
    expect(replay(one(false), token).divergence).toBeNull();
    expect(replay(one(true), token).divergence?.reason).toMatch(/after the last recorded choice differ/);
  });
});
