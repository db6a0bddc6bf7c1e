/** `gpuvm-sim demo`: src/cli/demo.ts. */
import { describe, expect, it } from "vitest";
import { formatTable, runDemo, type DemoResult } from "../../src/cli/main.js";
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

// Buggy variants are caught in the first execution; fixed ones pass once the
// portfolio's exhaustive search has run every schedule (or the budget is spent).
const ROW = {
  uafBuggy: /^uaf-last-reference\s+buggy\s+caught\s+use-after-free\s+1\s+\d+\.\d$/m,
  uafFixed: /^uaf-last-reference\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  deadlockBuggy: /^completion-deadlock\s+buggy\s+caught\s+deadlock\s+1\s+\d+\.\d$/m,
  deadlockFixed: /^completion-deadlock\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  reclaimBuggy: /^shrinker-resv-inversion\s+buggy\s+caught\s+lock-order-cycle\s+1\s+\d+\.\d$/m,
  reclaimFixed: /^shrinker-resv-inversion\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  allocBuggy: /^alloc-in-fence-signalling\s+buggy\s+caught\s+lock-order-cycle\s+1\s+\d+\.\d$/m,
  allocFixed: /^alloc-in-fence-signalling\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  fenceWaitBuggy: /^fence-wait-under-lock\s+buggy\s+caught\s+fence-wait-deadlock\s+1\s+\d+\.\d$/m,
  fenceWaitFixed: /^fence-wait-under-lock\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  flushBuggy: /^flush-work-under-lock\s+buggy\s+caught\s+lock-order-cycle\s+1\s+\d+\.\d$/m,
  flushFixed: /^flush-work-under-lock\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  // The GPUVM scenarios: buggy variants may need a few executions; further variants are extra rows.
  listWalkBuggy: /^gpuvm-list-walk\s+buggy\s+caught\s+use-after-free\s+\d+\s+\d+\.\d$/m,
  listWalkFixed: /^gpuvm-list-walk\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  listWalkResv: /^gpuvm-list-walk\s+resv-protected\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  listWalkTwoList: /^gpuvm-list-walk\s+two-list\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  listWalkConcurrent: /^gpuvm-list-walk\s+concurrent-walks\s+caught\s+vm-bo-list-concurrent-walk\s+\d+\s+\d+\.\d$/m,
  lastRefBuggy: /^vm-bo-last-gem-ref\s+buggy\s+caught\s+resv-misuse\s+\d+\s+\d+\.\d$/m,
  lastRefFixed: /^vm-bo-last-gem-ref\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  lastRefPut: /^vm-bo-last-gem-ref\s+internal-put\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  lastRefUnlink: /^vm-bo-last-gem-ref\s+internal-unlink\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  listLockBuggy: /^gem-vmbo-list-locking\s+buggy\s+caught\s+lock-not-held\s+1\s+\d+\.\d$/m,
  listLockFixed: /^gem-vmbo-list-locking\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  listLockInternal: /^gem-vmbo-list-locking\s+internal\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  listLockPlain: /^gem-vmbo-list-locking\s+plain-vm\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  // The device scenarios (issue 11).
  whomBuggy: /^vm-who-refcounts-whom\s+buggy\s+caught\s+use-after-free\s+\d+\s+\d+\.\d$/m,
  whomFixed: /^vm-who-refcounts-whom\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  whomDestroy: /^vm-who-refcounts-whom\s+destroy-under-resv\s+caught\s+recursive-locking\s+\d+\s+\d+\.\d$/m,
  whomDance: /^vm-who-refcounts-whom\s+destroy-ref-dance\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  whomClose: /^vm-who-refcounts-whom\s+close-frees-pages\s+caught\s+phys-page-still-mapped\s+\d+\s+\d+\.\d$/m,
  whomDeferred: /^vm-who-refcounts-whom\s+close-deferred-clear\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  shrinkBuggy: /^gem-free-vs-shrinker\s+buggy\s+caught\s+refcount-inc-from-zero\s+\d+\s+\d+\.\d$/m,
  shrinkFixed: /^gem-free-vs-shrinker\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  shrinkPretend: /^gem-free-vs-shrinker\s+pretend-locked\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  shrinkNoPretence: /^gem-free-vs-shrinker\s+no-pretence\s+caught\s+lock-order-cycle\s+\d+\s+\d+\.\d$/m,
  staleBuggy: /^invalidate-stale-dma\s+buggy\s+caught\s+dma-use-after-free\s+\d+\s+\d+\.\d$/m,
  staleFixed: /^invalidate-stale-dma\s+fixed\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
  staleTlb: /^invalidate-stale-dma\s+stale-tlb\s+caught\s+dma-use-after-free\s+\d+\s+\d+\.\d$/m,
  staleNoWait: /^invalidate-stale-dma\s+no-wait-full-teardown\s+pass\s+-\s+\d+\s+\d+\.\d$/m,
};

/** The first six scenarios, each a buggy/fixed pair with a state space small enough to exhaust. */
const PAIRS = [
  "uaf-last-reference",
  "completion-deadlock",
  "shrinker-resv-inversion",
  "alloc-in-fence-signalling",
  "fence-wait-under-lock",
  "flush-work-under-lock",
];

describe("runDemo", () => {
  // The whole catalog, in-process with the footprint check on: several seconds.
  it("catches every buggy variant, passes every fixed one, and exits 0", { timeout: 60_000 }, () => {
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
    expect(at("shrinker-resv-inversion")).toBeLessThan(at("alloc-in-fence-signalling"));
    expect(at("alloc-in-fence-signalling")).toBeLessThan(at("fence-wait-under-lock"));
    expect(at("fence-wait-under-lock")).toBeLessThan(at("flush-work-under-lock"));
    expect(at("flush-work-under-lock")).toBeLessThan(at("gpuvm-list-walk"));
    expect(at("gpuvm-list-walk")).toBeLessThan(at("vm-bo-last-gem-ref"));
    expect(at("vm-bo-last-gem-ref")).toBeLessThan(at("gem-vmbo-list-locking"));
    expect(at("gem-vmbo-list-locking")).toBeLessThan(at("vm-who-refcounts-whom"));
    expect(at("vm-who-refcounts-whom")).toBeLessThan(at("gem-free-vs-shrinker"));
    expect(at("gem-free-vs-shrinker")).toBeLessThan(at("invalidate-stale-dma"));
    // A scenario's further variants follow its pair.
    expect(out.search(/^gpuvm-list-walk\s+fixed/m)).toBeLessThan(out.search(/^gpuvm-list-walk\s+resv-protected/m));
    expect(out).toMatch(/^gpuvm-list-walk \(concurrent-walks\): caught by \S+ in execution \d+$/m);
    expect(out).toContain('WARNING: gpuvm-sim: concurrent walks of GpuVm#5 "vm".extobj');
    expect(out).toContain("WARNING: gpuvm-sim: possible deadlock: a fence waited for under a lock its signaller needs");
    expect(out).toContain(
      "OK: 12 buggy variants caught; 12 fixed variants passed; 15 further variants as expected (5 caught, 10 passed) " +
        "(every schedule, or 50 executions, whichever came first).",
    );
  });

  it("uses a budget of 200 by default; the first six fixed variants are proven before it runs out", { timeout: 60_000 }, () => {
    const { code, out } = demo({ json: true });
    expect(code).toBe(0);
    const results = JSON.parse(out) as DemoResult[];
    const fixed = results.filter((r) => r.variant === "fixed" && PAIRS.includes(r.scenario));
    expect(fixed).toHaveLength(6);
    for (const r of fixed) expect(r).toMatchObject({ verdict: "pass", stoppedBy: "exhausted" });
    for (const r of fixed) expect(r.executions).toBeLessThan(200);
    // The GPUVM scenarios' clean rows: every schedule, or the whole budget of 200.
    const clean = results.filter((r) => !PAIRS.includes(r.scenario) && r.verdict === "pass");
    expect(clean).toHaveLength(16);
    for (const r of clean) expect(r.stoppedBy === "exhausted" || r.executions === 200).toBe(true);
  });

  // 50 executions: the stale-tlb variant is caught at execution 35 since Gpu.submit became one step shorter.
  it("prints only the table with quiet", { timeout: 60_000 }, () => {
    const { code, out } = demo({ seeds: 50, quiet: true });
    expect(code).toBe(0);
    expect(out).not.toContain("BUG:");
    expect(out).not.toContain("OK:");
    // Header, rule, 12 scenarios x 2 variants, 15 further variants.
    expect(out.trimEnd().split("\n")).toHaveLength(41);
  });

  it("prints a JSON array of results with json", { timeout: 60_000 }, () => {
    const { code, out } = demo({ seeds: 50, json: true });
    expect(code).toBe(0);
    const results = JSON.parse(out) as DemoResult[];
    expect(results.map((r) => [r.scenario, r.variant, r.verdict, r.kind])).toEqual([
      ["uaf-last-reference", "buggy", "caught", "use-after-free"],
      ["uaf-last-reference", "fixed", "pass", null],
      ["completion-deadlock", "buggy", "caught", "deadlock"],
      ["completion-deadlock", "fixed", "pass", null],
      ["shrinker-resv-inversion", "buggy", "caught", "lock-order-cycle"],
      ["shrinker-resv-inversion", "fixed", "pass", null],
      ["alloc-in-fence-signalling", "buggy", "caught", "lock-order-cycle"],
      ["alloc-in-fence-signalling", "fixed", "pass", null],
      ["fence-wait-under-lock", "buggy", "caught", "fence-wait-deadlock"],
      ["fence-wait-under-lock", "fixed", "pass", null],
      ["flush-work-under-lock", "buggy", "caught", "lock-order-cycle"],
      ["flush-work-under-lock", "fixed", "pass", null],
      ["gpuvm-list-walk", "buggy", "caught", "use-after-free"],
      ["gpuvm-list-walk", "fixed", "pass", null],
      ["gpuvm-list-walk", "resv-protected", "pass", null],
      ["gpuvm-list-walk", "two-list", "pass", null],
      ["gpuvm-list-walk", "concurrent-walks", "caught", "vm-bo-list-concurrent-walk"],
      ["vm-bo-last-gem-ref", "buggy", "caught", "resv-misuse"],
      ["vm-bo-last-gem-ref", "fixed", "pass", null],
      ["vm-bo-last-gem-ref", "internal-put", "pass", null],
      ["vm-bo-last-gem-ref", "internal-unlink", "pass", null],
      ["gem-vmbo-list-locking", "buggy", "caught", "lock-not-held"],
      ["gem-vmbo-list-locking", "fixed", "pass", null],
      ["gem-vmbo-list-locking", "internal", "pass", null],
      ["gem-vmbo-list-locking", "plain-vm", "pass", null],
      ["vm-who-refcounts-whom", "buggy", "caught", "use-after-free"],
      ["vm-who-refcounts-whom", "fixed", "pass", null],
      ["vm-who-refcounts-whom", "destroy-under-resv", "caught", "recursive-locking"],
      ["vm-who-refcounts-whom", "destroy-ref-dance", "pass", null],
      ["vm-who-refcounts-whom", "close-frees-pages", "caught", "phys-page-still-mapped"],
      ["vm-who-refcounts-whom", "close-deferred-clear", "pass", null],
      ["gem-free-vs-shrinker", "buggy", "caught", "refcount-inc-from-zero"],
      ["gem-free-vs-shrinker", "fixed", "pass", null],
      ["gem-free-vs-shrinker", "pretend-locked", "pass", null],
      ["gem-free-vs-shrinker", "no-pretence", "caught", "lock-order-cycle"],
      ["invalidate-stale-dma", "buggy", "caught", "dma-use-after-free"],
      ["invalidate-stale-dma", "fixed", "pass", null],
      ["invalidate-stale-dma", "stale-tlb", "caught", "dma-use-after-free"],
      ["invalidate-stale-dma", "no-wait-full-teardown", "pass", null],
    ]);
    // A further variant's row says what it expected: its own kind, or the scenario's when it must stay clean.
    const concurrent = results.find((r) => r.variant === "concurrent-walks");
    expect(concurrent).toMatchObject({ expected: "vm-bo-list-concurrent-walk", verdict: "caught" });
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

  it("runs further variants as extra rows, judged by their own expectation", () => {
    class Thing extends SimObject {}
    const clean = (sim: Parameters<CatalogScenario["variants"]["buggy"]>[0]) => {
      sim.spawn("clean", "process", function* () {
        yield* condResched();
      });
    };
    const doubleFree = (sim: Parameters<CatalogScenario["variants"]["buggy"]>[0]) => {
      const t = new Thing(sim, "Thing");
      sim.spawn("twice", "process", function* () {
        yield* kfree(t);
        yield* kfree(t);
      });
    };
    const withMore: CatalogScenario = {
      name: "with-more",
      title: "A pair and three further variants",
      description: "The pair is right. Of the further variants, one is caught, one misses, one fails.",
      expect: "double-free",
      variants: { buggy: doubleFree, fixed: clean },
      more: [
        { name: "also-caught", title: "caught", scenario: doubleFree, expect: "double-free" },
        { name: "missed", title: "clean, but expected a report", scenario: clean, expect: "double-free" },
        { name: "not-clean", title: "expected clean", scenario: doubleFree, expect: null },
      ],
    };
    const { code, out } = demo({ seeds: 3, scenarios: [withMore] });
    expect(code).toBe(1);
    expect(out).toMatch(/^with-more\s+also-caught\s+caught\s+double-free\s+1\s/m);
    expect(out).toMatch(/^with-more\s+missed\s+MISSED\s+-\s+\d+\s/m);
    expect(out).toMatch(/^with-more\s+not-clean\s+FAILED\s+double-free\s+1\s/m);
    expect(out).toContain("with-more (also-caught): caught by ");
    expect(out).toContain("with-more (not-clean): FAILED, unexpected report in execution 1");
    expect(out).toMatch(/with-more \(missed\): no double-free report in \d+ executions \(budget 3\)/);
    expect(out).toContain("with-more (not-clean): unexpected double-free report in execution 1");
    // All good without the two bad ones: the summary counts the further variant.
    const good = demo({ seeds: 3, scenarios: [{ ...withMore, more: (withMore.more ?? []).slice(0, 1) }] });
    expect(good.code).toBe(0);
    expect(good.out).toContain("OK: 1 buggy variant caught; 1 fixed variant passed; 1 further variant as expected (1 caught, 0 passed) ");
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
          // A scenario must spawn a task (explore() refuses one that spawns none).
          sim.spawn("idle", "process", function* () {
      yield* [];
    });
        },
        fixed: (sim) => {
          sim.spawn("idle", "process", function* () {
      yield* [];
    });
        },
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

describe("runDemo: several reports in one execution", () => {
  class Bo extends SimObject {}
  // The buggy variant frees one object twice and leaks another: a double free, then a leak at teardown.
  const twoBugs: CatalogScenario = {
    name: "two-bugs",
    title: "A double free and a leak",
    description: "One object is freed twice; another is never freed.",
    expect: "double-free",
    variants: {
      buggy: (sim) => {
        const a = new Bo(sim, "Bo", { name: "a" });
        new Bo(sim, "Bo", { name: "leaked" });
        sim.spawn("t", "process", function* () {
          yield* kfree(a);
          yield* kfree(a);
        });
      },
      fixed: (sim) => {
        sim.spawn("t", "process", function* () {
          yield* condResched();
        });
      },
    },
  };

  it("shows the first report and how many there are", () => {
    const { code, out } = demo({ seeds: 3, scenarios: [twoBugs] });
    expect(code).toBe(0);
    expect(out).toContain("BUG: gpuvm-sim: double-free of Bo#1");
    expect(out).toContain("\n(1 of 2 reports of this execution shown; --all-reports shows them all)\n");
    expect(out).not.toContain("still live at teardown");
  });

  it("shows them all with allReports, and lists them in JSON", () => {
    const { out } = demo({ seeds: 3, scenarios: [twoBugs], allReports: true });
    expect(out).toContain("BUG: gpuvm-sim: double-free of Bo#1");
    expect(out).toContain("BUG: gpuvm-sim: 1 object still live at teardown (leak)");
    expect(out).not.toContain("--all-reports");
    const [buggy] = JSON.parse(demo({ seeds: 3, scenarios: [twoBugs], json: true }).out) as DemoResult[];
    expect(buggy?.reports.map((r) => r.kind)).toEqual(["double-free", "leak"]);
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
      reports: [],
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
