/** `gpuvm-sim replay`: src/cli/replay.ts. */
import { describe, expect, it } from "vitest";
import { ArgumentError } from "../../src/index.js";
import { ABBA_TOKEN, FIXTURE, replayCmd } from "./helpers.js";

describe("runReplay", () => {
  it("reproduces the report with stacks and exits 1", async () => {
    const { code, out } = await replayCmd({ export: "abba", token: ABBA_TOKEN });
    expect(code).toBe(1);
    expect(out).toMatch(/^={66}\nWARNING: possible circular locking dependency detected\n/);
    expect(out).toContain(`Replay: replay(scenario, "${ABBA_TOKEN}")`);
    expect(out).toMatch(/\nabba: replayed seed 3298878556 \(5 choices, found by random\): 1 report\n$/);
  });

  it("notes a token made for another scenario, and that its schedule no longer fits", async () => {
    // The failing schedule against the fixed scenario, as a user does after a
    // fix: no report, and the replay says the effects are not the recorded ones.
    const { code, out } = await replayCmd({ export: "ordered", token: ABBA_TOKEN });
    expect(code).toBe(2);
    expect(out).toContain(`note: the token was made for scenario "abba"; replaying export "ordered" of ${FIXTURE}\n`);
    expect(out).toContain("no report");
    expect(out).toMatch(/DIVERGED at choice \d+ \(step \d+\): /);
  });

  it("says where the replay diverged and exits 2", async () => {
    const { code, out } = await replayCmd({ export: "abba", token: `${ABBA_TOKEN}.0.0` });
    expect(code).toBe(2);
    expect(out).toMatch(/\nDIVERGED at choice \d+ \(step \d+\): the run ended after \d+ of the \d+ recorded choices\.\n/);
    expect(out).toMatch(/: 1 report, diverged\n$/);
  });

  it("prints reports and divergence as JSON with json", async () => {
    const { code, out } = await replayCmd({ export: "abba", token: ABBA_TOKEN, json: true, stacks: false });
    expect(code).toBe(1);
    const doc = JSON.parse(out) as { export: string; reports: { kind: string }[]; divergence: unknown };
    expect(doc).toMatchObject({ export: "abba", divergence: null });
    expect(doc.reports.map((r) => r.kind)).toEqual(["lock-order-cycle"]);
  });

  it("refuses a token that is not an explore token", async () => {
    await expect(replayCmd({ export: "abba", token: "gpuvm-sim:1:sim:random:3" })).rejects.toThrow(ArgumentError);
  });
});
