import { pathToFileURL } from "node:url";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram, formatTable, isEntryPoint, runDemo, type DemoResult } from "../../src/cli/main.js";
import { condResched, kfree, SimObject } from "../../src/index.js";
import type { CatalogScenario } from "../../src/scenarios/scenario.js";

/** Run the demo in-process; return its exit code and everything it wrote. */
function demo(options: Parameters<typeof runDemo>[0]): { code: number; out: string } {
  let out = "";
  const code = runDemo(options, (s) => {
    out += s;
  });
  return { code, out };
}

const ROW = {
  uafBuggy: /^uaf-last-reference\s+buggy\s+caught\s+use-after-free\s+\d+\s+\d+\.\d$/m,
  uafFixed: /^uaf-last-reference\s+fixed\s+pass\s+-\s+50\s+\d+\.\d$/m,
  deadlockBuggy: /^completion-deadlock\s+buggy\s+caught\s+deadlock\s+1\s+\d+\.\d$/m,
  deadlockFixed: /^completion-deadlock\s+fixed\s+pass\s+-\s+50\s+\d+\.\d$/m,
  reclaimBuggy: /^shrinker-resv-inversion\s+buggy\s+caught\s+lock-order-cycle\s+1\s+\d+\.\d$/m,
  reclaimFixed: /^shrinker-resv-inversion\s+fixed\s+pass\s+-\s+50\s+\d+\.\d$/m,
};

describe("runDemo", () => {
  it("catches every buggy variant, passes every fixed one, and exits 0", () => {
    const { code, out } = demo({ seeds: 50 });
    expect(code).toBe(0);
    // Each caught bug's report, as KASAN/lockdep-like text.
    expect(out).toContain("uaf-last-reference (buggy): caught at seed 0, execution 1");
    expect(out).toContain("BUG: gpuvm-sim: use-after-free in Bo.size");
    expect(out).toContain("INFO: gpuvm-sim: deadlock: all 2 live tasks are blocked");
    expect(out).toContain("reset/1 -> sched/2 -> reset/1");
    // The table: header, then one row per variant, in catalog order.
    expect(out).toMatch(/^scenario\s+variant\s+verdict\s+report\s+executions\s+time \(ms\)$/m);
    for (const row of Object.values(ROW)) expect(out).toMatch(row);
    expect(out).toContain("WARNING: possible circular locking dependency detected");
    const at = (name: string) => out.search(new RegExp(`^${name}\\s+buggy`, "m"));
    expect(at("uaf-last-reference")).toBeLessThan(at("completion-deadlock"));
    expect(at("completion-deadlock")).toBeLessThan(at("shrinker-resv-inversion"));
    expect(out).toContain("OK: 3 buggy variants caught; 3 fixed variants passed 50 executions each.");
  });

  it("uses a budget of 200 by default", () => {
    const { code, out } = demo({ quiet: true });
    expect(code).toBe(0);
    expect(out).toMatch(/^uaf-last-reference\s+fixed\s+pass\s+-\s+200\s/m);
  });

  it("prints only the table with quiet", () => {
    const { code, out } = demo({ seeds: 10, quiet: true });
    expect(code).toBe(0);
    expect(out).not.toContain("BUG:");
    expect(out).not.toContain("OK:");
    expect(out.trimEnd().split("\n")).toHaveLength(8);
  });

  it("prints a JSON array of results with json", () => {
    const { code, out } = demo({ seeds: 10, json: true });
    expect(code).toBe(0);
    const results = JSON.parse(out) as DemoResult[];
    expect(results.map((r) => [r.scenario, r.variant, r.verdict, r.kind])).toEqual([
      ["uaf-last-reference", "buggy", "caught", "use-after-free"],
      ["uaf-last-reference", "fixed", "pass", null],
      ["completion-deadlock", "buggy", "caught", "deadlock"],
      ["completion-deadlock", "fixed", "pass", null],
      ["shrinker-resv-inversion", "buggy", "caught", "lock-order-cycle"],
      ["shrinker-resv-inversion", "fixed", "pass", null],
    ]);
    expect(results[0]?.report?.kind).toBe("use-after-free");
    expect(results[1]).toMatchObject({ executions: 10, seed: null, report: null });
  });

  it("exits 1 and says which variant is wrong: a missed bug, an unexpected report", () => {
    class Thing extends SimObject {}
    const broken: CatalogScenario = {
      name: "broken",
      title: "Swapped variants",
      description: "The buggy variant is clean. The fixed one frees its object twice.",
      expect: "use-after-free",
      variants: {
        buggy: (sim) => {
          sim.spawn("clean", "process", function* () {
            yield* condResched();
          });
        },
        fixed: (sim) => {
          const t = new Thing(sim, "Thing");
          sim.spawn("twice", "process", function* () {
            yield* kfree(t);
            yield* kfree(t);
          });
        },
      },
    };
    const { code, out } = demo({ seeds: 5, scenarios: [broken] });
    expect(code).toBe(1);
    expect(out).toMatch(/^broken\s+buggy\s+MISSED\s+-\s+5\s/m);
    expect(out).toMatch(/^broken\s+fixed\s+FAILED\s+double-free\s+1\s/m);
    // The unexpected report is printed in full.
    expect(out).toContain("broken (fixed): FAILED, unexpected report at seed 0");
    expect(out).toContain("BUG: gpuvm-sim: double-free of Thing#1");
    expect(out).toContain("broken (buggy): no use-after-free report in 5 executions");
    expect(out).toContain("broken (fixed): unexpected double-free report at seed 0");
  });

  it("counts a buggy variant caught with the wrong kind as missed", () => {
    const wrongKind: CatalogScenario = {
      name: "wrong-kind",
      title: "Reports a leak, expects a deadlock",
      description: "An object is never freed. The entry expects a deadlock instead.",
      expect: "deadlock",
      variants: {
        buggy: (sim) => {
          new (class Leaky extends SimObject {})(sim, "Leaky");
        },
        fixed: () => undefined,
      },
    };
    const { code, out } = demo({ seeds: 3, scenarios: [wrongKind] });
    expect(code).toBe(1);
    expect(out).toMatch(/^wrong-kind\s+buggy\s+MISSED\s+leak\s+1\s/m);
    expect(out).toContain("wrong-kind (buggy): expected deadlock, but the first report was leak at seed 0");
  });

  it("rejects a budget that is not a positive integer", () => {
    expect(() => demo({ seeds: 0 })).toThrow(RangeError);
  });
});

describe("formatTable", () => {
  it("aligns the columns: text left, numbers right", () => {
    const row = (scenario: string, executions: number, elapsedMs: number): DemoResult => ({
      scenario,
      variant: "fixed",
      verdict: "pass",
      expected: "leak",
      kind: null,
      executions,
      seed: null,
      elapsedMs,
      report: null,
    });
    expect(formatTable([row("a", 200, 12.34), row("longer-name", 5, 0.5)])).toBe(
      [
        "scenario     variant  verdict  report  executions  time (ms)",
        "-----------  -------  -------  ------  ----------  ---------",
        "a            fixed    pass     -              200       12.3",
        "longer-name  fixed    pass     -                5        0.5",
      ].join("\n"),
    );
  });
});

describe("createProgram", () => {
  /** Parse user arguments; commander's exits become CommanderErrors. */
  function parse(args: string[]): { code: number | null; out: string; err: string } {
    let out = "";
    let err = "";
    let code: number | null = null;
    const program = createProgram(
      (s) => (out += s),
      (c) => (code = c),
    );
    for (const cmd of [program, ...program.commands]) {
      cmd.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    }
    program.parse(args, { from: "user" });
    return { code, out, err };
  }

  it("runs demo with its options", () => {
    const { code, out } = parse(["demo", "--seeds", "5", "--quiet"]);
    expect(code).toBe(0);
    expect(out).toMatch(/^completion-deadlock\s+fixed\s+pass\s+-\s+5\s/m);
  });

  it("refuses a budget that is not a positive integer", () => {
    for (const bad of ["0", "-3", "1.5", "many"]) {
      expect(() => parse(["demo", "--seeds", bad])).toThrow(CommanderError);
    }
  });
});

describe("isEntryPoint", () => {
  it("compares the started script with the module URL when there is one", () => {
    const script = "/opt/gpuvm-sim/dist/cli.js";
    expect(isEntryPoint(script, pathToFileURL(script).href)).toBe(true);
    expect(isEntryPoint("/usr/lib/node_modules/vitest/vitest.mjs", pathToFileURL(script).href)).toBe(false);
    expect(isEntryPoint(undefined, pathToFileURL(script).href)).toBe(false);
  });

  it("falls back to the file name where import.meta.url is empty (the CJS build)", () => {
    expect(isEntryPoint("/opt/gpuvm-sim/dist/cli.cjs", null)).toBe(true);
    expect(isEntryPoint("/opt/gpuvm-sim/dist/cli.js", null)).toBe(true);
    expect(isEntryPoint("/work/src/cli/main.ts", null)).toBe(true);
    expect(isEntryPoint("/opt/app/server.js", null)).toBe(false);
  });

  it("is false under the test runner", () => {
    expect(isEntryPoint()).toBe(false);
  });
});
