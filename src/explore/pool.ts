/**
 * exploreParallel() and ExplorePool: explore() on worker threads, with
 * explore()'s result.
 *
 * A function cannot cross into a worker, so the scenario is named by module
 * and export (`{ module, export }`); a scenario given as a function runs on
 * the calling thread through explore(). Promises and real time stay here, at
 * the edge; the simulation in each worker is synchronous and deterministic.
 *
 * Why the result does not depend on the number of workers (it equals
 * explore()'s, all but `timeMs`): nothing the pool returns depends on which
 * worker ran what, or when.
 * - Execution i depends only on the options and i, except that PCT's step
 *   estimate is the longest execution before i (explore()'s rule).
 * - Workers run cells of consecutive indices and send back a small record
 *   per execution (steps, fingerprint, the PCT estimate used). A cell sent
 *   ahead guesses the estimate from what the pool knows.
 * - The pool accepts records in index order, as explore()'s loop runs them.
 *   A missing record, or a PCT one made with a wrong estimate, stops the
 *   walk; the pool then sends that cell again from there with the exact
 *   estimate and the records it has, and the worker runs only what is
 *   missing or wrong. Each such round trip settles at least one execution.
 * - stopAtFirst ends at the lowest failing index, once the walk gets there
 *   (not at the first failure a worker reports); statistics count up to it.
 * - The first execution of each fingerprint, in index order, is re-run and
 *   shrunk in a worker, as explore() does.
 * - The portfolio's DFS executions (every third index) come from one DFS
 *   search in one worker while the others run random and PCT cells. DFS
 *   alone runs explore() in one worker: it is one sequential search, and
 *   dealing out its subtrees (as `shard` does) would change which
 *   executions run.
 * With `timeMs` (counted from the call) the run ends at the first execution
 * not yet accepted: a prefix of the indices, as with explore(), whose length
 * depends on the machine.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
// The named export, not the default: in the CommonJS build, require() of this
// ESM-only package gives its namespace, whose `default` an interop wrapper hides.
import { Tinypool } from "tinypool";
import { ArgumentError, ArgumentRangeError, UsageError } from "../errors.js";
import { explore, type ExploreOptions, type ExploreResult, type Failure, type Scenario } from "./explore.js";
import { moduleUrl, type ScenarioModule } from "./load.js";
import { EXPLORE_OPTIONS, resolveOptions } from "./options.js";
import { checkOptions, describeValue, is, isInstance, thrownText, type Spec } from "../validate.js";
import {
  LOWEST_FAILURE,
  LOWEST_SURE_FAILURE,
  publishMin,
  rebuildError,
  RUN_END,
  SHARED_CELLS,
  STOP,
  type DfsCandidate,
  type DfsOutcome,
  type ExecRecord,
  type RunPlan,
  type WorkerReply,
  type WorkerTask,
} from "./protocol.js";
import { ExplorePlan, pctBound } from "./search.js";

export type { ScenarioModule } from "./load.js";

/** Options of exploreParallel(): explore()'s, and how many worker threads. */
export interface ParallelExploreOptions extends ExploreOptions {
  /** Worker threads (required; `os.availableParallelism()` uses every core). */
  readonly workers: number;
}

/** @internal What the pool did in its last run, for tests and benchmarks. */
export interface PoolRunStats {
  /** Tasks sent to workers. */
  readonly tasks: number;
  /** Executions the workers ran (including re-runs). */
  readonly ran: number;
  /** Executions run again because a PCT estimate was wrong. */
  readonly reruns: number;
}

/**
 * Explore a scenario on `workers` worker threads. Same result as
 * `explore()` with the same options (except `timeMs`); see the file header
 * for why. A scenario given as a function runs in this thread.
 */
export async function exploreParallel(target: Scenario | ScenarioModule, options: ParallelExploreOptions): Promise<ExploreResult> {
  // Every option checked before a thread starts: explore()'s and `workers`.
  checkOptions("options", options, PARALLEL_OPTIONS);
  if ((options as ParallelExploreOptions | undefined) === undefined) throw new ArgumentError("options", "must be an options object with `workers`");
  const { workers, ...rest } = options;
  checkWorkers(workers);
  resolveOptions(rest);
  checkTarget(target);
  if (typeof target === "function") return explore(target, rest);
  const pool = new ExplorePool({ workers });
  try {
    return await pool.explore(target, rest);
  } finally {
    await pool.destroy();
  }
}

/** exploreParallel()'s options: explore()'s and `workers`. */
const PARALLEL_OPTIONS: Spec<ParallelExploreOptions> = { ...EXPLORE_OPTIONS, workers: is.any };

/** A scenario function, or `{ module, export }` naming one. */
function checkTarget(target: unknown): void {
  if (typeof target === "function") return;
  if (typeof target !== "object" || target === null || Array.isArray(target)) {
    throw new ArgumentError("target", `must be a scenario function or { module, export }, got ${describeValue(target)}`);
  }
  checkOptions("target", target as ScenarioModule, { module: is.nonEmptyString, export: is.nonEmptyString });
  if ((target as Partial<ScenarioModule>).module === undefined) throw new ArgumentError("target.module", "must be a non-empty string (the scenario's module path)");
}

/** The most worker threads a pool starts: each is a thread with its own copy of the simulator. */
export const MAX_WORKERS = 256;

function checkWorkers(workers: number): void {
  if (typeof workers !== "number") throw new ArgumentError("workers", `must be a positive integer, got ${describeValue(workers)}`);
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new ArgumentRangeError("workers", `must be an integer from 1 to ${MAX_WORKERS}, got ${workers}`);
  }
}

/**
 * Worker threads kept for several explorations (starting a thread that
 * loads the simulator costs tens to hundreds of milliseconds). Call
 * `destroy()` when done.
 */
export class ExplorePool {
  readonly workers: number;
  /** @internal */ lastRun: PoolRunStats | null = null;
  private pool: Tinypool | null = null;
  private destroyed = false;
  private readonly worker = workerFile();

  /** @throws ArgumentError naming `options` (not an object) or an unknown key; `workers` when it is not an integer from 1 to MAX_WORKERS (256). */
  constructor(options: { readonly workers: number }) {
    checkOptions("options", options, { workers: is.any });
    if ((options as { readonly workers: number } | undefined) === undefined) throw new ArgumentError("options", "must be an options object with `workers`");
    checkWorkers(options.workers);
    this.workers = options.workers;
  }

  /** Explore `target` in this pool's workers. Explorations may overlap; they share the threads. */
  async explore(target: ScenarioModule, options: ExploreOptions = {}): Promise<ExploreResult> {
    if (this.destroyed) throw new UsageError("explore() on an ExplorePool after destroy()");
    checkTarget(target);
    if (typeof target === "function") throw new ArgumentError("target", "must be { module, export }: a function cannot cross into a worker");
    const start = performance.timeOrigin + performance.now();
    const url = moduleUrl(target);
    if (!existsSync(fileURLToPath(url))) throw new ArgumentError("target.module", `not found: ${target.module}`);
    const resolved = resolveOptions(options);
    const plan: RunPlan = { target: { module: target.module, export: target.export }, options: resolved, deadline: start + resolved.timeMs };
    const filename = this.filenameFor(url);
    if (resolved.strategy.kind === "dfs") {
      this.lastRun = { tasks: 1, ran: 0, reruns: 0 };
      return this.call<ExploreResult>({ type: "explore", target: plan.target, options }, filename);
    }
    const run = new ParallelRun(this, plan, filename, start);
    try {
      return await run.go();
    } finally {
      this.lastRun = run.stats();
    }
  }

  /** Stop the worker threads. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const pool = this.pool;
    this.pool = null;
    if (pool !== null) await pool.destroy();
  }

  /** @internal Run one task in some worker; a worker's error comes back as the class it was. */
  async call<T>(task: WorkerTask, filename: string): Promise<T> {
    this.pool ??= new Tinypool({ minThreads: this.workers, maxThreads: this.workers });
    let reply: WorkerReply<T>;
    try {
      reply = (await this.pool.run(task, { filename })) as WorkerReply<T>;
    } catch (error) {
      // The worker itself failed (it could not load, or it died).
      throw new UsageError(`an exploration worker failed: ${thrownText(error).message}`);
    }
    if (!reply.ok) throw rebuildError(reply.error);
    return reply.value;
  }

  /**
   * What the workers import: the worker module itself, or, when TypeScript
   * must load in the worker (gpuvm-sim run from its sources, or a `.ts`
   * scenario), a bootstrap that registers tsx first. Node 20 ignores
   * `--import tsx` in a worker's execArgv, so the worker registers it itself.
   */
  private filenameFor(targetUrl: string): string {
    const typescript = this.worker.typescript || /\.[cm]?tsx?$/i.test(new URL(targetUrl).pathname);
    if (!typescript) return this.worker.url;
    const api = tsxApi([targetUrl, this.worker.url, pathToFileURL(join(process.cwd(), "noop.js")).href]);
    if (api === null) {
      throw this.worker.typescript
        ? new UsageError("gpuvm-sim runs from its TypeScript sources: its workers need the tsx package")
        : new ArgumentError("target.module", "is TypeScript: loading it in a worker needs the tsx package, or point at compiled JavaScript");
    }
    const code = `import { register } from ${JSON.stringify(api)};\nregister();\nconst worker = await import(${JSON.stringify(this.worker.url)});\nexport default worker.default;\n`;
    return `data:text/javascript,${encodeURIComponent(code)}`;
  }
}

/** The worker module next to this one: worker.ts from the sources, worker.js in dist/. */
function workerFile(): { readonly url: string; readonly typescript: boolean } {
  // In the CommonJS build import.meta is empty; __filename is defined there.
  const self = (import.meta as Partial<ImportMeta>).url ?? pathToFileURL(__filename).href;
  const typescript = new URL(self).pathname.endsWith(".ts");
  return { url: new URL(typescript ? "./worker.ts" : "./worker.js", self).href, typescript };
}

/** The file URL of tsx's ESM `register()` API, found from the first base that resolves tsx; null if none. */
function tsxApi(bases: readonly string[]): string | null {
  for (const base of bases) {
    try {
      const pkgPath = createRequire(base).resolve("tsx/package.json");
      const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { exports?: Record<string, { import?: { default?: unknown } } | undefined> };
      const entry = pkg.exports?.["./esm/api"]?.import?.default;
      if (typeof entry === "string") return new URL(entry, pathToFileURL(pkgPath)).href;
    } catch {
      // Not resolvable from this base: try the next.
    }
  }
  return null;
}

interface Flight {
  readonly id: number;
  readonly kind: "span" | "dfs";
  readonly from: number;
  readonly to: number;
  /** The cell a span was sent for. */
  readonly cell: number;
  readonly promise: Promise<Landed>;
}

type Landed =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: Error };

/** Cells of consecutive indices: small enough to spread and to redo, large enough that a round trip is noise. */
function cellSize(budget: number, workers: number): number {
  return Math.min(512, Math.max(16, Math.ceil(budget / (workers * 8))));
}

/** One exploration over the pool: the walk in index order, and the cells in flight. */
class ParallelRun {
  private readonly recs: (ExecRecord | undefined)[];
  private readonly candidates = new Map<number, DfsCandidate>();
  private readonly shared = new Int32Array(new SharedArrayBuffer(SHARED_CELLS * 4));
  private readonly flights = new Map<number, Flight>();
  private readonly cell: number;
  /**
   * Per cell: not sent yet, in flight, or landed. A cell is sent ahead of
   * the walk once (and once more when the DFS's end turns up executions it
   * did not know of); whatever it left missing, the walk's own span fills.
   */
  private readonly cellState: ("fresh" | "flying" | "landed")[];
  /** Per cell: the most steps of any record it has had (a guess for the cells after it). */
  private readonly cellMax: number[];
  private nextId = 0;
  /** Where the portfolio's DFS ran out (Infinity: not within the budget); null while not known. */
  private dfsEnd: number | null;
  private dfsDone: boolean;
  /** The DFS ran out, but some of its executions were cut by the step limit. */
  private dfsTruncated = false;
  /**
   * The end of explore()'s loop: the budget, or just after the DFS ran out
   * when it made no injected choices (the portfolio then has nothing left).
   */
  private runEnd: number;
  /** The lowest index with a failing record (stale records included), for stopAtFirst. */
  private lowestFail = Infinity;
  // The walk: records below `frontier` are accepted and counted.
  private frontier = 0;
  private maxSteps = 0;
  private executions = 0;
  private failed = 0;
  private minSteps = Infinity;
  private totalSteps = 0;
  private stepBoundHits = 0;
  private pruned = 0;
  private readonly firsts: ExecRecord[] = [];
  private readonly fps = new Set<string>();
  private cutoff: number | null = null;
  private timeUp = false;
  /** The frontier the last span sent for it started at, and how often (a guard against a stuck walk). */
  private lastExact = { at: -1, times: 0 };
  private tasks = 0;
  private ran = 0;
  private reruns = 0;
  /** The plan's rules, asked exactly as explore() asks them. */
  private readonly rules: ExplorePlan;
  private readonly budget: number;

  constructor(
    private readonly owner: ExplorePool,
    private readonly plan: RunPlan,
    private readonly filename: string,
    private readonly start: number,
  ) {
    this.rules = new ExplorePlan(plan.options);
    const budget = (this.budget = plan.options.budget);
    this.recs = new Array<ExecRecord | undefined>(budget);
    this.cell = cellSize(budget, owner.workers);
    this.cellState = new Array<"fresh" | "flying" | "landed">(Math.ceil(budget / this.cell)).fill("fresh");
    this.cellMax = new Array<number>(this.cellState.length).fill(0);
    const portfolio = plan.options.strategy.kind === "portfolio";
    this.dfsEnd = portfolio ? null : Infinity;
    this.dfsDone = !portfolio;
    this.runEnd = budget;
    this.shared[LOWEST_FAILURE] = 0x7fffffff;
    this.shared[LOWEST_SURE_FAILURE] = 0x7fffffff;
    this.shared[RUN_END] = budget;
  }

  stats(): PoolRunStats {
    return { tasks: this.tasks, ran: this.ran, reruns: this.reruns };
  }

  async go(): Promise<ExploreResult> {
    let failure: Error | null = null;
    if (!this.dfsDone) this.send("dfs", 0, this.budget, -1, { type: "dfs", plan: this.plan, shared: this.shared });
    for (;;) {
      if (this.walk()) break;
      if (performance.timeOrigin + performance.now() > this.plan.deadline) {
        this.timeUp = true;
        break;
      }
      this.dispatch();
      if (this.flights.size === 0) throw new UsageError(`internal: parallel exploration stalled at execution ${this.frontier}`);
      const landed = await Promise.race([...this.flights.values()].map((f) => f.promise));
      const flight = this.flights.get(landed.id) as Flight;
      this.flights.delete(landed.id);
      if (!landed.ok) {
        failure = landed.error;
        break;
      }
      this.land(flight, landed.value);
    }
    // Whatever is still in flight is not needed: tell it to stop, and wait
    // for it, so the pool is idle when this returns.
    Atomics.store(this.shared, STOP, 1);
    await Promise.all([...this.flights.values()].map((f) => f.promise));
    if (failure !== null) throw failure;
    const failures = await Promise.all(
      this.firsts.map((record) =>
        this.owner.call<Failure>(
          { type: "failure", plan: this.plan, record, candidate: this.candidates.get(record.index) ?? null },
          this.filename,
        ),
      ),
    );
    this.tasks += failures.length;
    return this.result(failures);
  }

  private result(failures: readonly Failure[]): ExploreResult {
    const n = this.executions;
    const last = this.cutoff ?? this.frontier - 1;
    const stoppedBy = this.cutoff !== null ? "failure" : this.timeUp ? "time" : this.runEnd < this.budget ? "exhausted" : "executions";
    return {
      strategy: this.rules.label,
      seed: this.plan.options.seed,
      executions: n,
      failed: this.failed,
      failures,
      steps: { min: n === 0 ? 0 : this.minSteps, mean: n === 0 ? 0 : this.totalSteps / n, max: this.maxSteps },
      stepBoundHits: this.stepBoundHits,
      pruned: this.pruned,
      exhausted: this.dfsEnd !== null && this.dfsEnd <= last && !this.dfsTruncated,
      stoppedBy,
      timeMs: performance.timeOrigin + performance.now() - this.start,
    };
  }

  /**
   * Accept records in index order, as explore()'s loop would run them, up
   * to the first one missing or made with a wrong PCT estimate. True when
   * the run is complete.
   */
  private walk(): boolean {
    const stopAtFirst = this.plan.options.stopAtFirst;
    while (this.frontier < this.runEnd) {
      const i = this.frontier;
      const kind = this.rules.kindAt(i, this.dfsEnd);
      if (kind === null) {
        this.frontier++;
        continue;
      }
      const r = this.recs[i];
      if (r?.kind !== kind || (kind === "pct" && r.bound !== pctBound(this.maxSteps))) return false;
      this.frontier++;
      this.executions++;
      this.totalSteps += r.steps;
      this.minSteps = Math.min(this.minSteps, r.steps);
      this.maxSteps = Math.max(this.maxSteps, r.steps);
      if (r.stepBound) this.stepBoundHits++;
      this.pruned += r.pruned;
      if (r.fp === null) continue;
      this.failed++;
      if (!this.fps.has(r.fp)) {
        this.fps.add(r.fp);
        this.firsts.push(r);
      }
      if (stopAtFirst) {
        this.cutoff = i;
        // It stands now: a DFS still searching past it can stop.
        publishMin(this.shared, LOWEST_SURE_FAILURE, i);
        return true;
      }
    }
    return true;
  }

  /** Send what the walk is blocked on, then fill the free slots with cells ahead of it. */
  private dispatch(): void {
    const f = this.frontier;
    const kind = this.rules.kindAt(f, this.dfsEnd);
    // A missing DFS record can only come from the DFS search in flight.
    if (kind !== "dfs" && ![...this.flights.values()].some((x) => x.kind === "span" && x.from <= f && f < x.to)) {
      // A span sent from the frontier with the exact estimate always settles
      // the frontier's execution; a second one at the same place is a bug.
      this.lastExact = this.lastExact.at === f ? { at: f, times: this.lastExact.times + 1 } : { at: f, times: 1 };
      if (this.lastExact.times > 2) throw new UsageError(`internal: parallel exploration cannot settle execution ${f}`);
      const c = Math.floor(f / this.cell);
      this.sendSpan(f, Math.min(this.runEnd, (c + 1) * this.cell), c, this.maxSteps, false);
    }
    const limit = 2 * this.owner.workers;
    // With stopAtFirst, nothing past the lowest failure seen (by the pool or
    // by a worker still running) is worth sending ahead.
    const seen = Math.min(this.lowestFail, Atomics.load(this.shared, LOWEST_FAILURE));
    const horizon = this.plan.options.stopAtFirst ? Math.min(seen, this.runEnd - 1) : this.runEnd - 1;
    // The best guess of the longest execution before a cell: every record below it.
    let guess = Math.max(this.maxSteps, this.cellMax[Math.floor(f / this.cell)] ?? 0);
    for (let c = Math.floor(f / this.cell) + 1; c < this.cellState.length && this.spansInFlight() < limit; guess = Math.max(guess, this.cellMax[c++] ?? 0)) {
      const from = c * this.cell;
      if (from > horizon) break;
      if (this.cellState[c] !== "fresh") continue;
      const to = Math.min(this.runEnd, from + this.cell);
      if (!this.missingIn(from, Math.min(to, horizon + 1))) {
        this.cellState[c] = "landed";
        continue;
      }
      this.sendSpan(from, to, c, guess, true);
    }
  }

  private spansInFlight(): number {
    let n = 0;
    for (const x of this.flights.values()) if (x.kind === "span") n++;
    return n;
  }

  /** Whether [from, to) has an execution to run that has no record (DFS ones aside). */
  private missingIn(from: number, to: number): boolean {
    for (let i = from; i < to; i++) {
      const kind = this.rules.kindAt(i, this.dfsEnd);
      if (kind !== null && kind !== "dfs" && this.recs[i] === undefined) return true;
    }
    return false;
  }

  private sendSpan(from: number, to: number, cell: number, startMax: number, speculative: boolean): void {
    const existing: [number, number, number, number][] = [];
    for (let i = from; i < to; i++) {
      const r = this.recs[i];
      if (r !== undefined) existing.push([i, r.steps, r.bound, r.fp === null ? 0 : 1]);
    }
    const dfsEnd = this.dfsEnd;
    this.cellState[cell] = "flying";
    this.send("span", from, to, cell, { type: "span", plan: this.plan, from, to, dfsEnd, startMax, existing, stopAtShared: speculative, shared: this.shared });
  }

  private send(kind: Flight["kind"], from: number, to: number, cell: number, task: WorkerTask): void {
    const id = this.nextId++;
    this.tasks++;
    const promise = this.owner.call<unknown>(task, this.filename).then(
      (value): Landed => ({ id, ok: true, value }),
      (error: unknown): Landed => ({ id, ok: false, error: isInstance(error, Error) ? error : new Error(thrownText(error).message) }),
    );
    this.flights.set(id, { id, kind, from, to, cell, promise });
  }

  private land(flight: Flight, value: unknown): void {
    if (flight.kind === "span") {
      for (const r of value as ExecRecord[]) this.put(r);
      this.cellState[flight.cell] = "landed";
      return;
    }
    const dfs = value as DfsOutcome;
    for (const r of dfs.records) this.put(r);
    for (const c of dfs.candidates) this.candidates.set(c.index, c);
    this.dfsDone = true;
    this.dfsEnd = dfs.end;
    this.dfsTruncated = dfs.truncated;
    // A search cut by the step limit proves nothing: the portfolio goes on to its budget, as explore() does.
    if (dfs.end !== null && dfs.end !== Infinity && !dfs.truncated) {
      this.runEnd = Math.min(this.budget, dfs.end + 1);
      Atomics.store(this.shared, RUN_END, this.runEnd);
    }
    // Past the end of the search, every third index is a random or PCT
    // execution no cell has run yet.
    if (dfs.end !== null && dfs.end !== Infinity) {
      for (let c = Math.floor(dfs.end / this.cell); c < this.cellState.length; c++) if (this.cellState[c] === "landed") this.cellState[c] = "fresh";
    }
  }

  private put(r: ExecRecord): void {
    this.ran++;
    const i = r.index;
    if (i < this.frontier) return; // already accepted
    const old = this.recs[i];
    if (old !== undefined) this.reruns++;
    this.recs[i] = r;
    const c = Math.floor(i / this.cell);
    this.cellMax[c] = Math.max(this.cellMax[c] ?? 0, r.steps);
    if (r.fp !== null) {
      this.lowestFail = Math.min(this.lowestFail, i);
    } else if (i === this.lowestFail) {
      // A PCT re-run no longer fails: the lowest failing record is further on.
      this.lowestFail = Infinity;
      for (let k = i + 1; k < this.recs.length; k++) {
        if (this.recs[k]?.fp != null) {
          this.lowestFail = k;
          break;
        }
      }
      Atomics.store(this.shared, LOWEST_FAILURE, Math.min(0x7fffffff, this.lowestFail));
    }
  }
}
