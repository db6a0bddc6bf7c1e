/** `gpuvm-sim explore`: src/cli/explore.ts. */
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT, findScenarios, loadScenarios, replayCommand, runExplore, runReplay, shellQuote, type ExploreCommandOptions } from "../../src/cli/main.js";
import { ArgumentError, type ExploreResult, type Failure } from "../../src/index.js";
import { ABBA_TOKEN, capture, exploreCmd, FIXTURE, ROOT } from "./helpers.js";

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
    expect(raw.out).toMatch(/^Replay from a shell: gpuvm-sim replay test\/cli\/fixtures\/scenarios\.ts abba '?gpuvm-sim:2:0\.1\.0:abba:random:\d+@500:[^' ]+'?$/m);
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


describe("shellQuote and replayCommand", () => {
  it("quotes only what a shell would change", () => {
    expect(shellQuote("test/x.ts")).toBe("test/x.ts");
    expect(shellQuote("a*b")).toBe("'a*b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("")).toBe("''");
    expect(replayCommand("my dir/s.js", "default", "gpuvm-sim:2:s:dfs:1@200:0")).toBe("gpuvm-sim replay 'my dir/s.js' default gpuvm-sim:2:s:dfs:1@200:0");
    expect(replayCommand("s.js", "x", "t", "npm run cli --")).toBe("npm run cli -- replay s.js x t");
  });

  it("starts the replay line with the command the CLI was run as (option command)", async () => {
    const { out } = await exploreCmd({ export: "abba", command: "npm run cli --" });
    expect(out).toContain(`\nReplay from a shell: npm run cli -- replay test/cli/fixtures/scenarios.ts abba ${ABBA_TOKEN}\n\n`);
  });
});

const MIXED = "test/cli/fixtures/mixed.ts";
const mixed = (o: Omit<ExploreCommandOptions, "module" | "cwd">) => capture(runExplore, { module: MIXED, cwd: ROOT, ...o });

describe("runExplore --all over a module with exports of every sort", () => {
  it("says which exports it skipped, marks the one that threw, reports every other one, and exits 2", async () => {
    const { code, out } = await mixed({ all: true, strategy: "dfs", maxSteps: 20 });
    expect(code).toBe(EXIT.error);
    expect(out).toMatch(
      /^note: --all skipped 3 exports that are not a scenario function \(sim\) => void: budget \(a number\), main \(a function of no parameters\), makeState \(a function of 2 parameters\)\n\n/,
    );
    expect(out).toContain("\nbroken: ERROR, the scenario threw Error: setup broke: no device\n");
    expect(out).toMatch(/^good: passed 1 execution; strategy dfs;/m);
    expect(out).toMatch(/^twoBugs: FAILED, 1 distinct failure/m);
    expect(out).toMatch(/^pair\.variants\.fixed: passed/m);
    expect(out).toMatch(/\nFAILED: 1 of 7 scenarios \(twoBugs\)\.\nERROR: 1 of 7 scenarios \(broken\) threw\.\nINCONCLUSIVE: 2 of 7 scenarios \(long, pair\.variants\.buggy\): every execution hit the step limit of 20\.\n$/);
  });

  it("prints one JSON document with the errored export, each verdict, and the skipped exports", async () => {
    const { code, out } = await mixed({ all: true, strategy: "dfs", maxSteps: 20, json: true });
    expect(code).toBe(EXIT.error);
    const doc = JSON.parse(out) as { maxSteps: number; scenarios: { export: string; verdict: string; error?: { name: string; message: string } }[]; skipped: { export: string; why: string }[] };
    expect(doc.maxSteps).toBe(20);
    expect(doc.scenarios.map((s) => [s.export, s.verdict])).toEqual([
      ["broken", "error"],
      ["good", "passed"],
      ["long", "inconclusive"],
      ["pair.variants.buggy", "inconclusive"],
      ["pair.variants.fixed", "passed"],
      ["sometimesLong", "passed"],
      ["twoBugs", "failed"],
    ]);
    expect(doc.scenarios[0]?.error).toEqual({ name: "Error", message: "setup broke: no device" });
    expect(doc.skipped).toEqual([
      { export: "budget", why: "a number" },
      { export: "main", why: "a function of no parameters" },
      { export: "makeState", why: "a function of 2 parameters" },
    ]);
  });

  it("exits 1 when a scenario failed and none threw", async () => {
    const failing = await mixed({ export: "twoBugs" });
    expect(failing.code).toBe(EXIT.bug);
  });
});

describe("runExplore and the step limit", () => {
  it("calls a run whose every execution hit --max-steps inconclusive, and exits 3", async () => {
    const { code, out } = await mixed({ export: "long", maxSteps: 20, executions: 5, strategy: "random" });
    expect(code).toBe(EXIT.inconclusive);
    expect(out).toMatch(
      /^long: INCONCLUSIVE, every execution \(5\) hit the step limit of 20 \(--max-steps\): none was checked to its end; strategy random; stopped by executions; steps min 20, mean 20\.0, max 20; \d+ ms\n {2}raise --max-steps \(or make the scenario's tasks finish sooner\)\n$/,
    );
    // With room for the whole run it passes.
    expect((await mixed({ export: "long", executions: 5, strategy: "random" })).code).toBe(EXIT.ok);
  });

  it("says how many executions a partly cut run lost, with the default limit named when none was given", async () => {
    const { code, out } = await mixed({ export: "sometimesLong", maxSteps: 20, strategy: "dfs" });
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(/^sometimesLong: passed 2 executions; strategy dfs; stopped by step-bound;.*\n {2}1 of 2 executions hit the step limit of 20 \(--max-steps\) and was not checked to the end: raise --max-steps\n$/);
    const json = JSON.parse((await mixed({ export: "good", json: true })).out) as { maxSteps: number };
    expect(json.maxSteps).toBe(10_000);
  });
});

describe("runExplore: several reports in one execution", () => {
  it("shows the first and says how many there are", async () => {
    const { out } = await mixed({ export: "twoBugs" });
    expect(out).toContain("BUG: gpuvm-sim: double-free of Bo#1");
    expect(out).not.toContain("leak");
    expect(out).toContain("\n(1 of 2 reports of this execution shown; --all-reports shows them all)\nReplay from a shell: ");
  });

  it("shows them all with allReports", async () => {
    const { out } = await mixed({ export: "twoBugs", allReports: true });
    expect(out).toMatch(/^Failure 1 of 1: double-free, found by /m);
    expect(out).toMatch(/^Failure 1 of 1: leak, found by .* \(report 2 of 2 in that execution\)$/m);
    expect(out).not.toContain("--all-reports");
  });
});

describe("the toy driver's workload from the command line", () => {
  const TOY = "examples/toy-driver/workload.ts";
  it("offers the correct driver and one scenario per deliberate bug; the factory is skipped", async () => {
    const { scenarios, skipped } = await findScenarios(TOY, undefined, true, ROOT);
    expect(scenarios.map((s) => s.exportName)).toEqual(["correct", "freeBeforeIommuFlush", "freeBeforeTlbInvalidate", "ignoreReadRetry", "skipFenceWaitBeforeEvict"]);
    expect(skipped).toEqual([{ exportName: "toyWorkload", why: "a function of no parameters" }]);
  });

  it("explores a bug's scenario by name and finds it", { timeout: 60_000 }, async () => {
    const { code, out } = await capture(runExplore, { module: TOY, cwd: ROOT, export: "skipFenceWaitBeforeEvict", strategy: "pct", executions: 60, seed: 1, shrink: false });
    expect(code).toBe(EXIT.bug);
    expect(out).toContain("BUG: gpu-page-fault in job exec");
    expect(out).toContain("Replay from a shell: gpuvm-sim replay examples/toy-driver/workload.ts skipFenceWaitBeforeEvict ");
  });
});

describe("runExplore on a factory", () => {
  it("a factory named as the export: the error says how to wrap it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gpuvm-sim-factory-"));
    const file = join(dir, "factory.mjs");
    writeFileSync(file, "export function factory(options = {}) { return (sim) => { sim.spawn('t', 'process', function* () {}); }; }\n");
    try {
      const { code, out } = await capture(runExplore, { module: file, cwd: dir, export: "factory" });
      expect(code).toBe(EXIT.error);
      expect(out).toContain("factory: ERROR, the scenario threw ArgumentError: invalid argument 'scenario': spawned no task");
      expect(out).toContain("(factory is a function of no parameters: if it makes a scenario, a factory, export one that calls it: export const myScenario = (sim) => factory(/* its options */)(sim))");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("runExplore on a catalog module", () => {
  it("names further variants by their names, and every token by the variant's path", async () => {
    const module = "test/cli/fixtures/catalog.ts";
    const { code, out } = await capture(runExplore, { module, cwd: ROOT, all: true, executions: 5 });
    expect(code).toBe(1);
    const rows = [...out.matchAll(/^(entry\.\S+): (FAILED|passed)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(rows).toEqual(["entry.variants.buggy FAILED", "entry.variants.fixed passed", "entry.more.also-buggy FAILED", "entry.more.also-fixed passed"]);
    const token = /^Replay from a shell: gpuvm-sim replay test\/cli\/fixtures\/catalog\.ts entry\.more\.also-buggy '?(gpuvm-sim:2:[^:]+:entry\.more\.also-buggy:[^'\s]+)'?$/m.exec(out)?.[1];
    expect(token).toBeDefined();
    expect(out).toMatch(/^Replay from a shell: gpuvm-sim replay \S+ entry\.variants\.buggy '?gpuvm-sim:2:[^:]+:entry\.variants\.buggy:/m);
    // The replay finds the variant by the printed name, and the token names it: no "made for scenario" note.
    const replayed = await capture(runReplay, { module, cwd: ROOT, export: "entry.more.also-buggy", token: token ?? "" });
    expect(replayed.code).toBe(1);
    expect(replayed.out).not.toContain("note: the token was made for");
    expect(replayed.out).toContain("double-free");
  });
});

describe("findScenarios", () => {
  it("takes a catalog variant by its dotted path, and refuses the catalog object itself", async () => {
    const [s] = await loadScenarios(MIXED, "pair.variants.fixed", false, ROOT);
    expect(s?.exportName).toBe("pair.variants.fixed");
    expect(s?.scenario.name).toBe("good");
    await expect(loadScenarios(MIXED, "pair", false, ROOT)).rejects.toThrow(
      `invalid argument 'export': "pair" of ${MIXED} is a catalog scenario with variants: name one, pair.variants.buggy or pair.variants.fixed`,
    );
  });

  it("with --all, a catalog entry's further variants (`more`) are explored too, by their names (by index when a name will not do)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gpuvm-sim-more-"));
    const file = join(dir, "more.mjs");
    writeFileSync(
      file,
      "const clean = (sim) => { sim.spawn('t', 'process', function* () {}); };\n" +
        "export const entry = { name: 'entry', variants: { buggy: clean, fixed: clean }, more: [{ name: 'third', scenario: clean }, { name: 'a.b', scenario: clean }, { name: 'twice', scenario: clean }, { name: 'twice', scenario: clean }] };\n",
    );
    try {
      const found = await loadScenarios(file, undefined, true, dir);
      expect(found.map((s) => s.exportName)).toEqual([
        "entry.variants.buggy",
        "entry.variants.fixed",
        "entry.more.third",
        "entry.more.1.scenario",
        "entry.more.2.scenario",
        "entry.more.3.scenario",
      ]);
      const [one] = await loadScenarios(file, "entry.more.third", false, dir);
      expect(one?.exportName).toBe("entry.more.third");
      expect(typeof one?.scenario).toBe("function");
      const [byIndex] = await loadScenarios(file, "entry.more.0.scenario", false, dir);
      expect(byIndex?.scenario).toBe(one?.scenario);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists what --all skipped, and names them when nothing is left", async () => {
    const { skipped } = await findScenarios(FIXTURE, undefined, true, ROOT);
    expect(skipped).toEqual([
      { exportName: "Helper", why: "a class" },
      { exportName: "budget", why: "a number" },
      { exportName: "taskBody", why: "a generator function (a task body?)" },
    ]);
    const e = await findScenarios("test/cli/fixtures/no-scenarios.ts", undefined, true, ROOT).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e).toMatchObject({ argument: "module" });
    expect((e as Error).message).toContain("exports no scenario functions (sim) => void; it exports helper (a function of 2 parameters), limit (a number)");
    // A function that is not of one parameter may be a factory: the message says how to wrap it.
    expect((e as Error).message).toContain(". If helper makes a scenario (a factory), export one that calls it, in this module or a module of your own: export const myScenario = (sim) => helper(/* its options */)(sim);");
  });
});

const ODD = "test/cli/fixtures/throws-odd.ts";

describe("explore: scenarios that throw values without text", () => {
  for (const name of ["throwsNullProto", "throwsGetters", "throwsRevoked"]) {
    it(`marks ${name} as errored, with a message, and exits 2`, async () => {
      const text = await capture(runExplore, { module: ODD, export: name, cwd: ROOT, executions: 2 });
      expect(text.code).toBe(2);
      expect(text.out).toMatch(new RegExp(`^${name}: ERROR, the scenario threw `));
      const json = await capture(runExplore, { module: ODD, export: name, cwd: ROOT, executions: 2, json: true });
      expect(json.code).toBe(2);
      const doc = JSON.parse(json.out) as { scenarios: { export: string; verdict: string; error: { name: string; message: string } }[] };
      expect(doc.scenarios[0]).toMatchObject({ export: name, verdict: "error" });
      expect(typeof doc.scenarios[0]?.error.message).toBe("string");
    });
  }

  it("with all, runs every other export, skips the Proxy export whose get throws, and keeps the JSON", async () => {
    const { code, out } = await capture(runExplore, { module: ODD, all: true, cwd: ROOT, executions: 2, json: true });
    expect(code).toBe(2);
    const doc = JSON.parse(out) as { scenarios: { export: string; verdict: string }[]; skipped: { export: string; why: string }[] };
    expect(doc.scenarios.map((s) => [s.export, s.verdict])).toEqual([
      ["good", "passed"],
      ["throwsGetters", "error"],
      ["throwsNullProto", "error"],
      ["throwsRevoked", "error"],
    ]);
    expect(doc.skipped).toEqual([{ export: "trap", why: "an export that throws when read (trap get)" }]);
  });
});

describe("explore: the step limit's verdict (docs/exploration.md, Spinning)", () => {
  const RESCHED = "test/cli/fixtures/resched.ts";
  it("a finite cond_resched loop cut by --max-steps is inconclusive (exit 3), not a livelock", async () => {
    const { code, out } = await capture(runExplore, { module: RESCHED, export: "reschedLoop", cwd: ROOT, maxSteps: 100, executions: 5 });
    expect(code).toBe(EXIT.inconclusive);
    expect(out).toMatch(/^reschedLoop: INCONCLUSIVE, every execution \(5\) hit the step limit of 100/);
    expect(out).not.toContain("livelock");
    // Given the steps it needs, it passes.
    expect((await capture(runExplore, { module: RESCHED, export: "reschedLoop", cwd: ROOT, maxSteps: 1000, executions: 5 })).code).toBe(EXIT.ok);
  });

  it("a spin on a flag nobody sets is still a livelock (exit 1)", async () => {
    const { code, out } = await capture(runExplore, { module: RESCHED, export: "flagSpin", cwd: ROOT, maxSteps: 100, executions: 5 });
    expect(code).toBe(EXIT.bug);
    expect(out).toContain("livelock: step limit (100) reached with tasks spinning");
  });
});
