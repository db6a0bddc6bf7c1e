import { fileURLToPath, pathToFileURL } from "node:url";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import {
  createProgram,
  formatTable,
  isEntryPoint,
  loadScenarios,
  replayCommand,
  runDemo,
  runExplore,
  runReplay,
  shellQuote,
  type DemoResult,
  type ExploreCommandOptions,
  type ReplayCommandOptions,
} from "../../src/cli/main.js";
import { ArgumentError, condResched, kfree, SimObject, type ExploreResult, type Failure } from "../../src/index.js";
import type { CatalogScenario } from "../../src/scenarios/scenario.js";

/** Run the demo in-process; return its exit code and everything it wrote. */
function demo(options: Parameters<typeof runDemo>[0]): { code: number; out: string } {
  let out = "";
  const code = runDemo(options, (s) => {
    out += s;
  });
  return { code, out };
}

// Buggy variants are caught in the first execution; fixed ones pass once the
// portfolio's exhaustive search has run every schedule (or the budget is spent).
const ROW = {
  uafBuggy: /^uaf-last-reference\s+buggy\s+caught\s+use-after-free\s+1\s+\d+\.\d$/m,
  uafFixed: /^uaf-last-reference\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  deadlockBuggy: /^completion-deadlock\s+buggy\s+caught\s+deadlock\s+1\s+\d+\.\d$/m,
  deadlockFixed: /^completion-deadlock\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  reclaimBuggy: /^shrinker-resv-inversion\s+buggy\s+caught\s+lock-order-cycle\s+1\s+\d+\.\d$/m,
  reclaimFixed: /^shrinker-resv-inversion\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
};

describe("runDemo", () => {
  it("catches every buggy variant, passes every fixed one, and exits 0", () => {
    const { code, out } = demo({ seeds: 50 });
    expect(code).toBe(0);
    // Each caught bug's report, as KASAN/lockdep-like text.
    expect(out).toMatch(/^uaf-last-reference \(buggy\): caught by \S+ in execution 1$/m);
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
    expect(out).toContain("OK: 3 buggy variants caught; 3 fixed variants passed (every schedule, or 50 executions, whichever came first).");
  });

  it("uses a budget of 200 by default, and the fixed variants are proven before it runs out", () => {
    const { code, out } = demo({ json: true });
    expect(code).toBe(0);
    const fixed = (JSON.parse(out) as DemoResult[]).filter((r) => r.variant === "fixed");
    for (const r of fixed) expect(r).toMatchObject({ verdict: "pass", stoppedBy: "exhausted" });
    for (const r of fixed) expect(r.executions).toBeLessThan(200);
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
    expect(results[0]?.token).toMatch(/^gpuvm-sim:2:/);
    expect(results[1]).toMatchObject({ token: null, strategy: null, report: null });
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
    expect(out).toMatch(/^broken\s+buggy\s+MISSED\s+-\s+\d+\s/m);
    expect(out).toMatch(/^broken\s+fixed\s+FAILED\s+double-free\s+1\s/m);
    // The unexpected report is printed in full.
    expect(out).toContain("broken (fixed): FAILED, unexpected report in execution 1");
    expect(out).toContain("BUG: gpuvm-sim: double-free of Thing#1");
    expect(out).toMatch(/broken \(buggy\): no use-after-free report in \d+ executions \(budget 5\)/);
    expect(out).toContain("broken (fixed): unexpected double-free report in execution 1");
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
    expect(out).toContain("wrong-kind (buggy): expected deadlock, but the first report was leak in execution 1");
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
      stoppedBy: "executions",
      strategy: null,
      token: null,
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

// The fixture module: `abba` takes two static mutexes in opposite orders in
// two tasks (a lock-order cycle); `ordered`, also the default export, takes
// them in one order. It also exports a number, a class and a generator.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURE = "test/cli/fixtures/scenarios.ts";
/** What the portfolio finds first in abba, at execution 0 (random walk, seed 0). */
const ABBA_TOKEN = "gpuvm-sim:2:0.1.0:abba:random:3298878556:7c7b3a9c:11.17.1b.1a.1a";

/** Run a command function in-process; its exit code and everything it wrote. */
async function capture<O>(run: (o: O, write: (s: string) => void) => Promise<number>, options: O): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await run(options, (s) => (out += s));
  return { code, out };
}

const exploreCmd = (o: Omit<ExploreCommandOptions, "module" | "cwd">) => capture(runExplore, { module: FIXTURE, cwd: ROOT, ...o });
const replayCmd = (o: Omit<ReplayCommandOptions, "module" | "cwd">) => capture(runReplay, { module: FIXTURE, cwd: ROOT, ...o });

describe("runExplore", () => {
  it("explores the named export: each failure's report, its replay command, then statistics; exits 1", async () => {
    const { code, out } = await exploreCmd({ export: "abba" });
    expect(code).toBe(1);
    expect(out).toMatch(/^Failure 1 of 1: lock-order-cycle, found by random at execution 0, 1 context switch \(shrinking found no fewer\)\n={66}\nWARNING: possible circular locking dependency detected\n/);
    expect(out).toContain(`Replay: replay(scenario, "${ABBA_TOKEN}")`);
    expect(out).toContain(`\nReplay from a shell: gpuvm-sim replay test/cli/fixtures/scenarios.ts abba ${ABBA_TOKEN}\n\n`);
    expect(out).toMatch(/\nabba: FAILED, 1 distinct failure in 1 execution \(1 failed\); strategy portfolio; stopped by failure; steps min 10, mean 10\.0, max 10; \d+ ms\n$/);
  });

  it("explores the default export without a name, with the budget and strategy given; exits 0 when it passes", async () => {
    const { code, out } = await exploreCmd({ executions: 50, strategy: "random" });
    expect(code).toBe(0);
    expect(out).toMatch(/^default: passed 50 executions; strategy random; stopped by executions; steps min 10, mean 10\.0, max 10; \d+ ms\n$/);
  });

  it("explores every exported scenario with all, skipping non-scenarios and the default export's duplicate", async () => {
    const { code, out } = await exploreCmd({ all: true, executions: 20 });
    expect(code).toBe(1);
    expect(out).toMatch(/^abba: FAILED/m);
    expect(out).toMatch(/^ordered: passed 9 executions/m);
    expect(out).not.toMatch(/^(default|Helper|taskBody|budget):/m);
    expect(out).toMatch(/\nFAILED: 1 of 2 scenarios \(abba\)\.\n$/);
  });

  it("passes the exploration flags to explore()", async () => {
    const dfs = await exploreCmd({ export: "ordered", strategy: "dfs" });
    expect(dfs.out).toMatch(/^ordered: passed 2 executions; strategy dfs; stopped by exhausted \(DFS explored every schedule\);/);
    const all = await exploreCmd({ export: "abba", allFailures: true, executions: 100 });
    // Both orders close one cycle, so one distinct failure, whichever side closed it.
    expect(all.out).toContain("Failure 1 of 1: lock-order-cycle");
    // The portfolio stops once its exhaustive search has run every schedule.
    expect(all.out).toMatch(/^abba: FAILED, 1 distinct failure in \d+ executions \(\d+ failed\); strategy portfolio; stopped by exhausted /m);
    const raw = await exploreCmd({ export: "abba", shrink: false, seed: 7, maxSteps: 500 });
    expect(raw.out).toMatch(/^Failure 1 of 1: lock-order-cycle, found by random at execution 0\n/);
    expect(raw.out).not.toContain(ABBA_TOKEN);
    expect(raw.out).toMatch(/^Replay from a shell: gpuvm-sim replay test\/cli\/fixtures\/scenarios\.ts abba '?gpuvm-sim:2:0\.1\.0:abba:random:\d+:[^' ]+'? --max-steps 500$/m);
    const timed = await exploreCmd({ export: "ordered", timeMs: 1, executions: 1_000_000, strategy: "random" });
    expect(timed.out).toMatch(/stopped by time;.*\n {2}the time budget ran out first: raise --time-ms to run every execution\n$/);
  });

  it("prints one JSON document with json", async () => {
    const { code, out } = await exploreCmd({ export: "abba", json: true });
    expect(code).toBe(1);
    const doc = JSON.parse(out) as { module: string; scenarios: (ExploreResult & { export: string; strategy: string; failures: (Failure & { replayCommand: string })[] })[] };
    expect(doc.module).toBe(FIXTURE);
    const [run] = doc.scenarios;
    expect(run).toMatchObject({ export: "abba", strategy: "portfolio", executions: 1, stoppedBy: "failure" });
    expect(run?.failures[0]?.report.kind).toBe("lock-order-cycle");
    expect(run?.failures[0]?.token).toBe(ABBA_TOKEN);
    expect(run?.failures[0]?.replayCommand).toBe(`gpuvm-sim replay ${FIXTURE} abba ${ABBA_TOKEN}`);
  });

  it("shows which scenario runs on the progress line, and clears it", async () => {
    const lines: string[] = [];
    await exploreCmd({ all: true, executions: 2, progress: (l) => lines.push(l) });
    expect(lines).toEqual(["exploring abba (strategy portfolio)...", "", "exploring ordered (strategy portfolio)...", ""]);
  });
});

describe("loadScenarios", () => {
  it("refuses a missing module, a missing export, and exports that are not scenarios", async () => {
    await expect(loadScenarios("test/cli/fixtures/nope.ts", undefined, false, ROOT)).rejects.toThrow(
      new ArgumentError("module", `no such file: ${ROOT}test/cli/fixtures/nope.ts`),
    );
    await expect(loadScenarios(FIXTURE, "nope", false, ROOT)).rejects.toThrow(
      `invalid argument 'export': ${FIXTURE} has no export "nope" (its scenario exports: abba, default, ordered)`,
    );
    await expect(loadScenarios(FIXTURE, "budget", false, ROOT)).rejects.toThrow(`"budget" of ${FIXTURE} is a number, not a scenario function`);
    await expect(loadScenarios(FIXTURE, "Helper", false, ROOT)).rejects.toThrow("is a class, not a scenario function");
    await expect(loadScenarios(FIXTURE, "taskBody", false, ROOT)).rejects.toThrow("is a generator function (a task body?), not a scenario function");
    await expect(loadScenarios(FIXTURE, "abba", true, ROOT)).rejects.toThrow(ArgumentError);
  });

  it("resolves the module from the working directory by default", async () => {
    const [s] = await loadScenarios(`${ROOT}${FIXTURE}`, "abba", false);
    expect(s?.exportName).toBe("abba");
    expect(s?.scenario.name).toBe("abba");
  });
});

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

describe("shellQuote and replayCommand", () => {
  it("quotes only what a shell would change", () => {
    expect(shellQuote("test/x.ts")).toBe("test/x.ts");
    expect(shellQuote("a*b")).toBe("'a*b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("")).toBe("''");
    expect(replayCommand("my dir/s.js", "default", "gpuvm-sim:2:s:dfs:1:0", 200)).toBe("gpuvm-sim replay 'my dir/s.js' default gpuvm-sim:2:s:dfs:1:0 --max-steps 200");
  });
});

describe("createProgram: explore and replay", () => {
  const fixture = `${ROOT}${FIXTURE}`;

  /** Parse user arguments asynchronously; commander's exits become CommanderErrors. */
  async function parseAsync(args: string[]): Promise<{ code: number | null; out: string; err: string; progress: string[] }> {
    let out = "";
    let err = "";
    let code: number | null = null;
    const progress: string[] = [];
    const program = createProgram(
      (s) => (out += s),
      (c) => (code = c),
      (s) => (err += s),
      (l) => progress.push(l),
    );
    for (const cmd of [program, ...program.commands]) {
      cmd.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    }
    await program.parseAsync(args, { from: "user" });
    return { code, out, err, progress };
  }

  it("explores with the flags given and sets the exit code", async () => {
    const bad = await parseAsync(["explore", fixture, "abba", "--strategy", "pct", "--executions", "30", "--seed", "-4", "--max-steps", "99"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/found by pct\(3\) at execution \d+/);
    expect(bad.out).toMatch(/' --max-steps 99\n/);
    expect(bad.progress).toEqual(["exploring abba (strategy pct)...", ""]);
    const good = await parseAsync(["explore", fixture, "--executions", "5", "--all-failures", "--no-shrink"]);
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/^default: passed 5 executions; strategy portfolio;/);
  });

  it("runs one shard of an exploration with --shard i/n, and rejects a bad one", async () => {
    // Random executions are dealt out by index: shard 1 of 2 runs executions 1, 3 and 5 of 6.
    const shard = await parseAsync(["explore", fixture, "--strategy", "random", "--executions", "6", "--shard", "1/2", "--json"]);
    expect(shard.code).toBe(0);
    const doc = JSON.parse(shard.out) as { scenarios: { executions: number }[] };
    expect(doc.scenarios[0]?.executions).toBe(3);
    await expect(parseAsync(["explore", fixture, "--shard", "2/2"])).rejects.toThrow(/must be i\/n with 0 <= i < n/);
  });

  it("replays with and without the export name", async () => {
    expect((await parseAsync(["replay", fixture, "abba", ABBA_TOKEN])).code).toBe(1);
    // The default export is the fixed scenario: no report, but not the recorded schedule either.
    const dflt = await parseAsync(["replay", fixture, ABBA_TOKEN, "--no-stacks"]);
    expect(dflt.code).toBe(2);
    expect(dflt.out).toContain('replaying export "default"');
  });

  it("reports a missing module or export in one line on stderr, exit code 2", async () => {
    const missing = await parseAsync(["explore", "no/such/module.js"]);
    expect(missing).toMatchObject({ code: 2, out: "" });
    expect(missing.err).toBe(`gpuvm-sim: error: invalid argument 'module': no such file: ${process.cwd()}/no/such/module.js\n`);
    const noExport = await parseAsync(["replay", fixture, "nope", ABBA_TOKEN]);
    expect(noExport.code).toBe(2);
    expect(noExport.err).toMatch(/^gpuvm-sim: error: invalid argument 'export': .* has no export "nope"/);
    const badToken = await parseAsync(["replay", fixture, "abba", "nonsense"]);
    expect(badToken.code).toBe(2);
    expect(badToken.err).toMatch(/^gpuvm-sim: error: invalid argument 'token': not a gpuvm-sim explore token/);
  });

  it("refuses bad flag values", async () => {
    for (const args of [
      ["--strategy", "greedy"],
      ["--executions", "0"],
      ["--seed", "1.5"],
      ["--time-ms", "-1"],
    ]) {
      await expect(parseAsync(["explore", fixture, ...args])).rejects.toThrow(CommanderError);
    }
  });
});
