/** A failure: shrunk, given a token that replays it, and for a lock-order cycle the deadlock behind it. */
import { describe, expect, it } from "vitest";
import { explore, replay } from "../../src/index.js";
import { abba } from "./fixtures/scenarios.js";

describe("failure", () => {
  it("a lock-order cycle comes with its token, a shrunk schedule and an execution that deadlocks for real", () => {
    const r = explore(abba, { strategy: "random", executions: 200, seed: 3 });
    const f = r.failures[0];
    expect(f?.report.kind).toBe("lock-order-cycle");
    if (f === undefined) return;
    expect(f.token.startsWith("gpuvm-sim:2:")).toBe(true);
    expect(f.shrunk).not.toBeNull();
    expect(replay(abba, f.token)).toMatchObject({ divergence: null, report: { kind: "lock-order-cycle" } });
    expect(f.deadlock?.report.kind).toBe("deadlock");
    if (f.deadlock === null) return;
    // Its run also closes the cycle first; the deadlock follows.
    const again = replay(abba, f.deadlock.token);
    expect(again.divergence).toBeNull();
    expect(again.reports.map((x) => x.kind)).toContain("deadlock");
  });

  it("without shrinking, the failure is the execution as found", () => {
    const r = explore(abba, { strategy: "random", executions: 200, seed: 3, shrink: false });
    expect(r.failures[0]?.shrunk).toBeNull();
  });
});
