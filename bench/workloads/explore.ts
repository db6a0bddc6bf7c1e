/**
 * Exploration throughput: executions per second of explore() in this
 * thread (one worker) and of the worker pool (src/explore/pool.ts) on one
 * worker and on every core, for
 *   (a) 3 tasks, each taking and releasing a shared static mutex 10 times
 *       (20 lock effects per task, 63 steps per execution), random walks;
 *   (b) the catalog's fixed variant with the most steps per execution,
 *       random walks (which one is measured, and named in the row).
 * Targets, for (a): >= 35,000 executions/s in this thread, at most 300
 * bytes allocated per step, and on all cores >= 1.7x the in-process rate.
 *
 * Bytes per step come from a child process whose young generation is so
 * large that no garbage collection runs while it explores: the growth of
 * the used heap over a run is then what the run allocated. The child checks
 * that no collection ran (a `gc` performance entry) and fails otherwise.
 *
 * bench/run.ts runs workloads synchronously and the pool is asynchronous, so
 * the pool's figures come from a child process running this file with
 * POOL_CHILD, which prints them as JSON. Its workers import the scenarios
 * below by module and export, as any pool does. Pool figures are steady
 * state: each pool is started and warmed up before it is timed, and its
 * start-up is reported on a row of its own.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";
import { explore, Mutex, type ExploreOptions, type Scenario } from "../../src/index.js";
import { ExplorePool, type ScenarioModule } from "../../src/explore/pool.js";
import { catalog } from "../../src/scenarios/catalog.js";
import { atLeast, atMost, median, targeted, untargeted, type Entry, type Figure } from "../harness.js";

const POOL_CHILD = "--explore-pool-child";
const ALLOC_CHILD = "--explore-alloc-child";
/** Bytes allocated per step of (a), in this thread (issue 7). */
const TARGET_BYTES_PER_STEP = 300;
/** Young generation size for the allocation child, in MB: large enough that no collection runs while it counts. */
const ALLOC_SEMI_SPACE_MB = 1024;
const EXECUTIONS = 4000;
const RUNS = 5;
const TARGET_IN_PROCESS = 35_000;
const TARGET_SPEEDUP = 1.7;
const OPTIONS: ExploreOptions = { strategy: "random", executions: EXECUTIONS, stopAtFirst: false };

/** (a): three tasks ping-pong one static mutex, 10 lock/unlock pairs each. */
export const mutexPingPong: Scenario = (sim) => {
  const m = new Mutex(sim, "bench_explore_mutex", { static: true });
  for (let t = 0; t < 3; t++) {
    sim.spawn(`t${t}`, "process", function* () {
      for (let i = 0; i < 10; i++) {
        yield* m.lock();
        yield* m.unlock();
      }
    });
  }
};

/** (b): the catalog's variants by scenario name, for the pool's dotted export paths. */
export const catalogVariants = Object.fromEntries(catalog.map((c) => [c.name, c.variants]));

const HERE = import.meta.url;

function target(exportPath: string): ScenarioModule {
  return { module: HERE, export: exportPath };
}

/** The catalog's fixed variant with the most steps per execution (mean over a short random run). */
function largestCatalogScenario(): { name: string; scenario: Scenario; steps: number } {
  let best: { name: string; scenario: Scenario; steps: number } | null = null;
  for (const c of catalog) {
    const steps = explore(c.variants.fixed, { strategy: "random", executions: 200, stopAtFirst: false, shrink: false }).steps.mean;
    if (best === null || steps > best.steps) best = { name: c.name, scenario: c.variants.fixed, steps };
  }
  if (best === null) throw new Error("the catalog is empty");
  return best;
}

/** What the child process measures: executions per second of (a) and (b), by configuration. */
interface Figures {
  /** `0` for explore() in the child's own thread, else the pool's worker count. */
  readonly workers: number;
  /** For a pool: starting its threads and a first small run. */
  readonly startupMs: number;
  readonly a: number;
  readonly b: number;
}

/**
 * In the child: explore() in this thread and a pool per worker count, each
 * warmed up, then timed in alternation (this machine's speed drifts by more
 * than the differences measured, so each round times every configuration).
 */
async function poolChild(bExport: string, bScenario: Scenario): Promise<void> {
  const counts = [...new Set([1, availableParallelism()])];
  const pools: { pool: ExplorePool; startupMs: number }[] = [];
  try {
    for (const workers of counts) {
      const t0 = performance.now();
      const pool = new ExplorePool({ workers });
      pools.push({ pool, startupMs: 0 });
      // Starts every thread (each loads the simulator) and gives it a first run.
      await pool.explore(target("mutexPingPong"), { ...OPTIONS, executions: 64 * workers });
      (pools[pools.length - 1] as { startupMs: number }).startupMs = performance.now() - t0;
    }
    const timed = async (run: () => Promise<number> | number): Promise<number> => {
      const t0 = performance.now();
      const executions = await run();
      if (executions !== EXECUTIONS) throw new Error(`explore bench ran ${executions} executions, not ${EXECUTIONS}`);
      return (performance.now() - t0) / 1000;
    };
    const configs = [
      { workers: 0, startupMs: 0, run: (s: Scenario, _t: ScenarioModule) => explore(s, OPTIONS).executions },
      ...pools.map(({ pool, startupMs }) => ({
        workers: pool.workers,
        startupMs,
        run: async (_s: Scenario, t: ScenarioModule) => (await pool.explore(t, OPTIONS)).executions,
      })),
    ];
    const cases = [
      { scenario: mutexPingPong, target: target("mutexPingPong") },
      { scenario: bScenario, target: target(bExport) },
    ];
    const samples = configs.map(() => cases.map((): number[] => []));
    for (let round = -1; round < RUNS; round++) {
      for (const [k, c] of configs.entries()) {
        for (const [j, x] of cases.entries()) {
          // No gc() before a run here, unlike harness.measure(): a full
          // collection shrinks the young generation, and the run after it
          // was measured 20 % slower; the workers' heaps are not collected
          // that way, so it would bias the comparison against this thread.
          const seconds = await timed(() => c.run(x.scenario, x.target));
          // Round -1 warms up every configuration's JIT.
          if (round >= 0) (samples[k]?.[j] as number[]).push(seconds);
        }
      }
    }
    const out: Figures[] = configs.map((c, k) => ({
      workers: c.workers,
      startupMs: c.startupMs,
      a: EXECUTIONS / median(samples[k]?.[0] ?? []),
      b: EXECUTIONS / median(samples[k]?.[1] ?? []),
    }));
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await Promise.all(pools.map((p) => p.pool.destroy()));
  }
}

/** In the allocation child: bytes allocated per step of (a), median of 5 runs after a warm-up. */
async function allocChild(): Promise<void> {
  const { getHeapStatistics } = await import("node:v8");
  const { PerformanceObserver } = await import("node:perf_hooks");
  let collections = 0;
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  observer.observe({ entryTypes: ["gc"] });
  const options: ExploreOptions = { ...OPTIONS, executions: 1000 };
  explore(mutexPingPong, options);
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    globalThis.gc?.();
    // Let the gc entry of that collection arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 5));
    collections = 0;
    const before = getHeapStatistics().used_heap_size;
    const r = explore(mutexPingPong, options);
    const after = getHeapStatistics().used_heap_size;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (collections !== 0) throw new Error("a garbage collection ran while counting allocations: raise ALLOC_SEMI_SPACE_MB");
    samples.push((after - before) / (r.steps.mean * r.executions));
  }
  observer.disconnect();
  process.stdout.write(`${JSON.stringify(median(samples))}\n`);
}

function allocFigure(): number {
  const flags = ["--expose-gc", `--max-semi-space-size=${ALLOC_SEMI_SPACE_MB}`, `--min-semi-space-size=${ALLOC_SEMI_SPACE_MB}`];
  const child = spawnSync(process.execPath, [...flags, ...process.execArgv, fileURLToPath(HERE), ALLOC_CHILD], { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`explore allocation bench failed (${child.status ?? child.signal ?? "?"}):\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "") as number;
}

/** Run the measurements in a child process and read them back. */
function childFigures(bName: string): Figures[] {
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(HERE), POOL_CHILD, bName], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`explore bench failed (${child.status ?? child.signal ?? "?"}):\n${child.stderr}`);
  const last = child.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as Figures[];
}

export function exploreWorkloads(): Entry[] {
  const largest = largestCatalogScenario();
  const figures = childFigures(largest.name);
  const bytesPerStep = allocFigure();
  const here = figures[0] as Figures;
  const pools = figures.slice(1);
  const all = pools[pools.length - 1] as Figures;
  const name = (workers: number): string => (workers === 0 ? "in-process explore()" : `pool, ${workers} worker${workers === 1 ? "" : "s"}`);
  const rates = (pick: (f: Figures) => number): Figure[] => figures.map((f) => ({ label: name(f.workers), value: pick(f), unit: "executions/s" }));
  const speedup = (pick: (f: Figures) => number): Figure => ({ label: `pool on ${all.workers} / in-process`, value: pick(all) / pick(here), unit: "x" });
  // Issue 7's figure: how the pool scales from one worker to all of them.
  const one = pools[0] as Figures;
  const poolScaling = (pick: (f: Figures) => number): Figure => ({ label: `pool on ${all.workers} / pool on 1`, value: pick(all) / pick(one), unit: "x" });
  return [
    targeted("explore (a): 3 tasks x 20 mutex effects, random", [rates((f) => f.a)[0] as Figure], atLeast(TARGET_IN_PROCESS, "executions/s")),
    targeted("explore (a): allocation", [{ label: "in-process", value: bytesPerStep, unit: "bytes/step" }], atMost(TARGET_BYTES_PER_STEP, "bytes/step")),
    targeted(`explore (a) on ${all.workers} workers`, [speedup((f) => f.a), ...rates((f) => f.a).slice(1), poolScaling((f) => f.a)], atLeast(TARGET_SPEEDUP, "x")),
    untargeted(`explore (b): ${largest.name} fixed, ${largest.steps.toFixed(1)} steps/exec`, [...rates((f) => f.b), speedup((f) => f.b)]),
    untargeted(
      "explore pool start-up (threads + first run)",
      pools.map((p) => ({ label: name(p.workers), value: p.startupMs, unit: "ms" })),
    ),
  ];
}

// The child process (not its worker threads, which share its argv).
if (isMainThread && process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === HERE && process.argv[2] === POOL_CHILD) {
  const name = process.argv[3] ?? "";
  const entry = catalog.find((c) => c.name === name);
  if (entry === undefined) throw new Error(`no catalog scenario ${name}`);
  await poolChild(`catalogVariants.${name}.fixed`, entry.variants.fixed);
}

if (isMainThread && process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === HERE && process.argv[2] === ALLOC_CHILD) {
  await allocChild();
}
