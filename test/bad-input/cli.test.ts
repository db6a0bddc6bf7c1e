/**
 * Bad input to the command line's functions (src/cli): each is refused with
 * a typed error naming the argument, before anything is written.
 */
import { describe, expect, it } from "vitest";
import { runDemo, runExplore, runReplay } from "../../src/cli/main.js";
import { ArgumentError, ArgumentRangeError, loadedCopies, type Sim } from "../../src/index.js";
import { ABBA_TOKEN, FIXTURE, ROOT } from "../cli/helpers.js";

/** A writer that records what it was given. */
function recorder(): { write: (s: string) => void; written: string[] } {
  const written: string[] = [];
  return { write: (s) => void written.push(s), written };
}

type ErrorClass = typeof ArgumentError | typeof ArgumentRangeError;

/** Run `f` and return what it threw (sync or async). */
async function thrownBy(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error("expected it to throw");
}

async function expectRefused(f: (write: (s: string) => void) => unknown, cls: ErrorClass, argument: string): Promise<void> {
  const { write, written } = recorder();
  const copies = loadedCopies();
  const e = await thrownBy(() => f(write));
  expect(e).toBeInstanceOf(cls);
  expect(e).toMatchObject({ argument });
  // Nothing written, no module loaded.
  expect(written).toEqual([]);
  expect(loadedCopies()).toEqual(copies);
}

/** A catalog-shaped scenario whose `more` is `more`; its variants would run if the demo got that far. */
function withMore(more: unknown): unknown {
  const idle = (sim: Sim) => {
    sim.spawn("idle", "process", function* () {
      yield* [];
    });
  };
  return { name: "m", title: "t", description: "One. Two.", expect: "leak", variants: { buggy: idle, fixed: idle }, more };
}

function variant(over: Record<string, unknown>): Record<string, unknown> {
  return { name: "also", title: "t", scenario: () => undefined, expect: null, ...over };
}

describe("runDemo", () => {
  const cases: [string, unknown, ErrorClass, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["an unknown option", { seed: 3 }, ArgumentError, "seed"],
    ["seeds not a number", { seeds: "5" }, ArgumentError, "seeds"],
    ["seeds zero", { seeds: 0 }, ArgumentRangeError, "seeds"],
    ["seeds fractional", { seeds: 1.5 }, ArgumentRangeError, "seeds"],
    ["json not a boolean", { json: "yes" }, ArgumentError, "json"],
    ["quiet not a boolean", { quiet: 1 }, ArgumentError, "quiet"],
    ["allReports not a boolean", { allReports: "all" }, ArgumentError, "allReports"],
    ["scenarios not an array", { scenarios: {} }, ArgumentError, "scenarios"],
    ["more not an array", { scenarios: [withMore({})] }, ArgumentError, "scenarios[0].more"],
    ["a further variant not an object", { scenarios: [withMore([null])] }, ArgumentError, "scenarios[0].more[0]"],
    ["a further variant's name not kebab-case", { scenarios: [withMore([variant({ name: "Also Fixed" })])] }, ArgumentError, "scenarios[0].more[0].name"],
    ["a further variant named fixed", { scenarios: [withMore([variant({ name: "fixed" })])] }, ArgumentError, "scenarios[0].more[0].name"],
    ["two further variants of one name", { scenarios: [withMore([variant({}), variant({})])] }, ArgumentError, "scenarios[0].more[1].name"],
    ["a further variant without a title", { scenarios: [withMore([variant({ title: 3 })])] }, ArgumentError, "scenarios[0].more[0].title"],
    ["a further variant's scenario not a function", { scenarios: [withMore([variant({ scenario: "s" })])] }, ArgumentError, "scenarios[0].more[0].scenario"],
    ["a further variant's expect neither a kind nor null", { scenarios: [withMore([variant({ expect: undefined })])] }, ArgumentError, "scenarios[0].more[0].expect"],
  ];
  for (const [what, options, cls, argument] of cases) {
    it(`refuses ${what}`, async () => {
      await expectRefused((write) => runDemo(options as Parameters<typeof runDemo>[0], write), cls, argument);
    });
  }

  it("refuses a write that is not a function", async () => {
    const e = await thrownBy(() => runDemo({ seeds: 1 }, "stdout" as unknown as (s: string) => void));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e).toMatchObject({ argument: "write" });
  });
});

describe("runExplore", () => {
  const base = { module: FIXTURE, cwd: ROOT, export: "abba" };
  const cases: [string, unknown, ErrorClass, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["an unknown option", { ...base, maxStep: 10 }, ArgumentError, "maxStep"],
    ["no module", { cwd: ROOT }, ArgumentError, "module"],
    ["an empty module", { ...base, module: "" }, ArgumentError, "module"],
    ["an empty export", { ...base, export: "" }, ArgumentError, "export"],
    ["all not a boolean", { ...base, export: undefined, all: "yes" }, ArgumentError, "all"],
    ["an unknown strategy", { ...base, strategy: "greedy" }, ArgumentError, "strategy"],
    ["executions zero", { ...base, executions: 0 }, ArgumentRangeError, "executions"],
    ["a fractional seed", { ...base, seed: 0.5 }, ArgumentRangeError, "seed"],
    ["maxSteps negative", { ...base, maxSteps: -1 }, ArgumentRangeError, "maxSteps"],
    ["timeMs not a number", { ...base, timeMs: "1s" }, ArgumentError, "timeMs"],
    ["allFailures not a boolean", { ...base, allFailures: 1 }, ArgumentError, "allFailures"],
    ["allReports not a boolean", { ...base, allReports: "yes" }, ArgumentError, "allReports"],
    ["shrink not a boolean", { ...base, shrink: "no" }, ArgumentError, "shrink"],
    ["json not a boolean", { ...base, json: 1 }, ArgumentError, "json"],
    ["an empty cwd", { ...base, cwd: "" }, ArgumentError, "cwd"],
    ["an empty command", { ...base, command: "" }, ArgumentError, "command"],
    ["command not a string", { ...base, command: 7 }, ArgumentError, "command"],
    ["progress not a function", { ...base, progress: "stderr" }, ArgumentError, "progress"],
    ["an export and all", { ...base, all: true }, ArgumentError, "export"],
    ["a missing module", { ...base, module: "test/cli/fixtures/nope.ts" }, ArgumentError, "module"],
    ["a missing export", { ...base, export: "nope" }, ArgumentError, "export"],
    ["an export that is not a scenario", { ...base, export: "budget" }, ArgumentError, "export"],
  ];
  for (const [what, options, cls, argument] of cases) {
    it(`refuses ${what}`, async () => {
      await expectRefused((write) => runExplore(options as Parameters<typeof runExplore>[0], write), cls, argument);
    });
  }
});

describe("runReplay", () => {
  const base = { module: FIXTURE, cwd: ROOT, export: "abba", token: ABBA_TOKEN };
  const cases: [string, unknown, ErrorClass, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["an unknown option", { ...base, stack: false }, ArgumentError, "stack"],
    ["no module", { token: ABBA_TOKEN }, ArgumentError, "module"],
    ["a token that is not one", { ...base, token: "nonsense" }, ArgumentError, "token"],
    ["a token that is not a string", { ...base, token: 42 }, ArgumentError, "token"],
    ["maxSteps zero", { ...base, maxSteps: 0 }, ArgumentRangeError, "maxSteps"],
    ["stacks not a boolean", { ...base, stacks: "no" }, ArgumentError, "stacks"],
    ["json not a boolean", { ...base, json: "yes" }, ArgumentError, "json"],
    ["a missing export", { ...base, export: "nope" }, ArgumentError, "export"],
  ];
  for (const [what, options, cls, argument] of cases) {
    it(`refuses ${what}`, async () => {
      await expectRefused((write) => runReplay(options as Parameters<typeof runReplay>[0], write), cls, argument);
    });
  }
});
