/** `gpuvm-sim replay`: src/cli/replay.ts. */
import { describe, expect, it } from "vitest";
import { EXIT, runReplay, type ReplayCommandOptions } from "../../src/cli/main.js";
import { ArgumentError } from "../../src/index.js";
import { ABBA_TOKEN, capture, FIXTURE, replayCmd, ROOT } from "./helpers.js";

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

  it("tells a token cut short (every recorded choice followed, then more) from a changed scenario", async () => {
    // The token's first two choices: "...:11.17.1b.1a.1a" cut to "...:11.17".
    const cut = ABBA_TOKEN.slice(0, ABBA_TOKEN.indexOf(".", ABBA_TOKEN.lastIndexOf(":") + 4));
    expect(cut.endsWith(":11.17")).toBe(true);
    const { code, out } = await replayCmd({ export: "abba", token: cut, stacks: false });
    expect(code).toBe(EXIT.error);
    expect(out).toMatch(/\nDIVERGED at choice 2 \(step \d+\): the run makes more choices than the 2 recorded .*\.\nEvery recorded choice was followed, .*the token was probably cut short \(copy all of it\)/);
    // A token whose choices do not fit the scenario: a changed scenario, or a cut.
    const other = await replayCmd({ export: "ordered", token: ABBA_TOKEN, stacks: false });
    expect(other.code).toBe(EXIT.error);
    expect(other.out).toContain("The scenario (or gpuvm-sim) changed since the token was made, or the token was cut short;");
    expect(other.out).not.toContain("probably cut short");
  });

  it("refuses a token that is not an explore token", async () => {
    await expect(replayCmd({ export: "abba", token: "gpuvm-sim:1:sim:random:3" })).rejects.toThrow(ArgumentError);
  });
});

describe("runReplay and the step limit, which tokens record", () => {
  const SPINNER = "test/cli/fixtures/spinner.ts";
  // What explore --max-steps 100 finds first in the spinner: a livelock at step 100.
  const SPIN_TOKEN = "gpuvm-sim:2:0.1.0:spinner:random:3298878556@100:77d0c455:";
  const spin = (o: Omit<ReplayCommandOptions, "module" | "cwd" | "export" | "token">) =>
    capture(runReplay, { module: SPINNER, cwd: ROOT, export: "spinner", token: SPIN_TOKEN, stacks: false, ...o });

  it("with the token's limit (by default, or given again): reproduces the livelock and notes that the limit shapes the outcome", async () => {
    for (const o of [{}, { maxSteps: 100 }]) {
      const { code, out } = await spin(o);
      expect(code).toBe(EXIT.bug);
      expect(out).toContain("\nnote: this execution ran into the step limit of 100 (--max-steps), as the recorded one did; a different --max-steps may change the outcome.\n");
      expect(out).not.toContain("but the explore run that made the token used");
    }
  });

  it("with another limit: says the token recorded another, and the divergence says how to replay with it", async () => {
    const { code, out } = await spin({ maxSteps: 10_000 });
    expect(code).toBe(EXIT.error);
    expect(out).toContain("\nnote: replaying with --max-steps 10000, but the explore run that made the token used 100: the run may end elsewhere.\n");
    expect(out).toMatch(/\nDIVERGED at choice 0 \(step 10000\): .*\nThe replay ran into the step limit of 10000 \(--max-steps\); replay without --max-steps to use the recorded 100\.\n/);
    // A token without a limit ran under the default.
    const short = await replayCmd({ export: "abba", token: ABBA_TOKEN, maxSteps: 3, stacks: false });
    expect(short.code).toBe(EXIT.error);
    expect(short.out).toContain("note: replaying with --max-steps 3, but the explore run that made the token used 10000");
    expect(short.out).toContain("The replay ran into the step limit of 3 (--max-steps); replay without --max-steps to use the recorded 10000.");
    expect(short.out).not.toContain("changed since the token was made");
  });

  it("says so in JSON too", async () => {
    const doc = JSON.parse((await spin({ json: true })).out) as { maxSteps: number; stepLimit: boolean };
    expect(doc).toMatchObject({ maxSteps: 100, recordedMaxSteps: null, stepLimit: true });
    const other = JSON.parse((await spin({ maxSteps: 200, json: true })).out) as { maxSteps: number; stepLimit: boolean };
    expect(other).toMatchObject({ maxSteps: 200, recordedMaxSteps: 100, stepLimit: true });
    const abba = JSON.parse((await replayCmd({ export: "abba", token: ABBA_TOKEN, json: true, stacks: false })).out) as { maxSteps: number; stepLimit: boolean };
    expect(abba).toMatchObject({ maxSteps: 10_000, recordedMaxSteps: null, stepLimit: false });
  });

  it("replays a catalog variant named by its dotted path", async () => {
    const { code, out } = await capture(runReplay, { module: "test/cli/fixtures/mixed.ts", cwd: ROOT, export: "pair.variants.fixed", token: SPIN_TOKEN, stacks: false });
    expect(code).toBe(EXIT.error);
    expect(out).toContain('note: the token was made for scenario "spinner"; replaying export "pair.variants.fixed" of test/cli/fixtures/mixed.ts');
  });
});
