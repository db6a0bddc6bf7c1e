/**
 * The worker side of parallel exploration: what one worker thread of the
 * pool (pool.ts) runs, and the per-execution rules both sides share.
 *
 * A worker never sees a scenario function: it imports the scenario by module
 * path and export name (`ScenarioModule`), and runs executions by index,
 * exactly as explore() runs execution i in-process: the same Sim options,
 * the same per-index seed, the same strategy for index i (the portfolio's
 * rotation, the shard filter) and, for PCT, the same step estimate, which
 * the pool hands in because it depends on the executions before i.
 *
 * Four tasks, each a plain object in and out (structured clone):
 * - `span`: executions [from, to) that are missing or whose PCT estimate was
 *   wrong, reusing the records the pool already has; returns new records;
 * - `dfs`: the portfolio's DFS executions (indices 2, 5, 8, ...), in order,
 *   in one search; returns their records, the index where the search ran
 *   out, and each new failure's choices (a DFS execution cannot be re-run
 *   alone: it depends on the search's state);
 * - `failure`: turn one failing execution into a Failure (re-run, shrink,
 *   token);
 * - `explore`: a whole explore() run (the DFS strategy: a sequential search).
 *
 * Option checking, running one execution and making a Failure are
 * explore.ts's own (internal) functions, so the pool cannot drift from
 * explore(); test/explore/pool.test.ts checks that both give identical
 * results.
 */
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { ArgumentError, ArgumentRangeError, GpuvmSimError, UsageError } from "../errors.js";
import { deriveSeed } from "../kernel/prng.js";
import type { Checks } from "../kernel/sim.js";
import type { Report } from "../report/report.js";
import {
  describeDfs,
  explore,
  fingerprint,
  makeFailure,
  newSim,
  pctBound,
  resolveOptions,
  runOne,
  type ExploreOptions,
  type Failure,
  type FailureContext,
  type Scenario,
} from "./explore.js";
import { DfsSearch, type DfsOptions } from "./strategy/dfs.js";
import { Pct } from "./strategy/pct.js";
import { RandomWalk } from "./strategy/random.js";

/**
 * A scenario named by where it lives, so a worker thread can import it. The
 * module must be an ES module that imports gpuvm-sim with `import`, as the
 * worker does: a CommonJS module gets the CommonJS build, a second copy of
 * the simulator, whose tasks the worker's scheduler does not know.
 */
export interface ScenarioModule {
  /** An absolute path or a `file:` URL of an ES module (`.ts` when tsx is installed). */
  readonly module: string;
  /** The export's name; a dotted path reaches into objects (`uafLastReference.variants.fixed`). */
  readonly export: string;
}

/** explore()'s options, resolved and checked: what every task of one run shares. */
export interface RunPlan {
  readonly target: ScenarioModule;
  readonly kind: "random" | "pct" | "dfs" | "portfolio";
  readonly depth: number;
  readonly dfs: DfsOptions;
  readonly budget: number;
  readonly maxSteps: number;
  /** `options.seed` as given, and as used (modulo 2^32). */
  readonly seed: number;
  readonly seedU32: number;
  readonly checks: Partial<Checks> | null;
  readonly stopAtFirst: boolean;
  readonly shrink: boolean;
  /** `options.name`, or null for the scenario function's own name. */
  readonly name: string | null;
  readonly shard: readonly [number, number];
  /** Wall-clock deadline, ms since the epoch (Infinity: none). */
  readonly deadline: number;
}

/** What the pool keeps of one execution. */
export interface ExecRecord {
  readonly index: number;
  readonly kind: "random" | "pct" | "dfs";
  readonly steps: number;
  readonly stepBound: boolean;
  /** PCT's step estimate the execution ran with (0 for other strategies). */
  readonly bound: number;
  /** The first report's fingerprint, or null if the execution filed none. */
  readonly fp: string | null;
  /** Executions the DFS counted as pruned during this one (0 or 1). */
  readonly pruned: number;
}

/** A DFS execution's failure, as found: enough to make the Failure later. */
export interface DfsCandidate {
  readonly index: number;
  readonly choices: readonly number[];
  readonly reports: readonly Report[];
  /** The execution's own Sim token, which the explorer's token replaces in the reports. */
  readonly simToken: string;
  /** The execution's final trace hash, for its token. */
  readonly trace: string;
}

/**
 * Shared between the pool and its workers, so a worker can stop early:
 * [LOWEST_FAILURE] is the lowest failing index any worker has seen,
 * [LOWEST_SURE_FAILURE] the lowest among executions whose result cannot
 * change (random walks and DFS: they do not depend on earlier executions).
 */
export const LOWEST_FAILURE = 0;
export const LOWEST_SURE_FAILURE = 1;
/** Non-zero once the pool needs nothing more from the run's tasks in flight. */
export const STOP = 2;
/** The end of explore()'s loop, once the portfolio's DFS says it is before the budget. */
export const RUN_END = 3;
export const SHARED_CELLS = 4;

export interface SpanTask {
  readonly type: "span";
  readonly plan: RunPlan;
  readonly from: number;
  readonly to: number;
  /** Where the portfolio's DFS ran out (Infinity: never, within the budget), or null: not known yet. */
  readonly dfsEnd: number | null;
  /** The largest step count of the executions before `from`, as far as the pool knows. */
  readonly startMax: number;
  /** Records the pool has in [from, to): index, steps, bound, 1 if it failed. */
  readonly existing: readonly (readonly [number, number, number, number])[];
  /** Stop at an index above the shared lowest failure (not for the span that must make progress). */
  readonly stopAtShared: boolean;
  readonly shared: Int32Array;
}

export interface DfsTask {
  readonly type: "dfs";
  readonly plan: RunPlan;
  readonly shared: Int32Array;
}

export interface FailureTask {
  readonly type: "failure";
  readonly plan: RunPlan;
  readonly record: ExecRecord;
  /** For a DFS execution: its choices and reports (it cannot be re-run alone). */
  readonly candidate: DfsCandidate | null;
}

export interface ExploreTask {
  readonly type: "explore";
  readonly target: ScenarioModule;
  readonly options: ExploreOptions;
}

export type WorkerTask = SpanTask | DfsTask | FailureTask | ExploreTask;

export interface DfsOutcome {
  readonly records: readonly ExecRecord[];
  readonly candidates: readonly DfsCandidate[];
  /**
   * The index at which the search had nothing left; Infinity if it had
   * something left at every DFS index of the budget; null if it stopped
   * before either (a failure, the deadline, or nothing more needed).
   */
  readonly end: number | null;
}

/** An error crossing from a worker: classes do not survive structured clone, so it is rebuilt by name. */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
  readonly argument: string | null;
  readonly stack: string | null;
}

export type WorkerReply<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WorkerError };

/** Rebuild a worker's error as the catalog class it was, so callers can match on it. */
export function rebuildError(e: WorkerError): Error {
  let error: Error;
  if (e.argument !== null && e.name === "ArgumentError") error = Object.assign(new ArgumentError(e.argument, ""), { message: e.message });
  else if (e.argument !== null && e.name === "ArgumentRangeError") error = Object.assign(new ArgumentRangeError(e.argument, ""), { message: e.message });
  else if (e.name === "UsageError") error = new UsageError(e.message);
  else if (e.name === "GpuvmSimError") error = new GpuvmSimError(e.message);
  else {
    error = new Error(e.message);
    error.name = e.name;
  }
  if (e.stack !== null) error.stack = e.stack;
  return error;
}

function toWorkerError(error: unknown): WorkerError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error), argument: null, stack: null };
  const argument = (error as { argument?: unknown }).argument;
  return { name: error.name, message: error.message, argument: typeof argument === "string" ? argument : null, stack: error.stack ?? null };
}

// -- the rules both sides share -------------------------------------------

/**
 * The strategy explore() gives execution i, or null if this shard skips it.
 * `dfsEnd` is where the portfolio's DFS ran out (null: not known, so every
 * third index is still the DFS's). At `dfsEnd` itself explore() has already
 * passed the shard filter (a DFS index is every shard's) when the search
 * turns out empty, so that execution runs in every shard.
 */
export function kindAt(plan: RunPlan, i: number, dfsEnd: number | null): "random" | "pct" | "dfs" | null {
  let kind: "random" | "pct" | "dfs";
  if (plan.kind === "portfolio") {
    const m = i % 3;
    if (m === 2) {
      if (dfsEnd === null || i < dfsEnd) return "dfs";
      kind = i % 2 === 0 ? "random" : "pct";
      if (i === dfsEnd) return kind;
    } else {
      kind = m === 0 ? "random" : "pct";
    }
  } else if (plan.kind === "dfs") {
    return "dfs";
  } else {
    kind = plan.kind;
  }
  const [index, count] = plan.shard;
  return i % count === index ? kind : null;
}

/** PCT's estimate of an execution's length: explore()'s own rule (the pool reads it from here). */
export { pctBound };

/** Lower `cell` to `value` if that is lower (an atomic min). */
export function publishMin(shared: Int32Array, cell: number, value: number): void {
  for (;;) {
    const old = Atomics.load(shared, cell);
    if (old <= value || Atomics.compareExchange(shared, cell, old, value) === old) return;
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

// -- loading the scenario --------------------------------------------------

/** The module's URL, or an ArgumentError naming `target.module`. */
export function moduleUrl(target: ScenarioModule): string {
  if (typeof target !== "object" || typeof target.module !== "string" || target.module === "") {
    throw new ArgumentError("target.module", "must be a non-empty string: an absolute path or a file: URL");
  }
  if (typeof target.export !== "string" || target.export === "") throw new ArgumentError("target.export", "must be a non-empty string");
  const m = target.module;
  if (m.startsWith("file:")) return m;
  if (isAbsolute(m)) return pathToFileURL(m).href;
  throw new ArgumentError("target.module", `must be an absolute path or a file: URL (workers do not share your working directory's resolution), got ${m}`);
}

const loaded = new Map<string, Scenario>();

/** Import the scenario a target names (once per worker). */
export async function loadScenario(target: ScenarioModule): Promise<Scenario> {
  const url = moduleUrl(target);
  const key = `${url}#${target.export}`;
  const cached = loaded.get(key);
  if (cached !== undefined) return cached;
  let value: unknown;
  try {
    value = await import(url);
  } catch (error) {
    throw new ArgumentError("target.module", `cannot import ${target.module}: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const part of target.export.split(".")) {
    value = typeof value === "object" && value !== null && Object.hasOwn(value, part) ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value !== "function") {
    throw new ArgumentError("target.export", `${target.module} has no export ${target.export} that is a scenario function (sim) => void`);
  }
  const scenario = value as Scenario;
  loaded.set(key, scenario);
  return scenario;
}

// -- the tasks -------------------------------------------------------------

/** One random or PCT execution, as explore() runs it. */
function runIndexed(scenario: Scenario, plan: RunPlan, i: number, kind: "random" | "pct", bound: number) {
  const execSeed = deriveSeed(plan.seedU32, i);
  const sim = newSim(execSeed, plan.maxSteps, plan.checks ?? undefined);
  const strat = kind === "pct" ? new Pct(execSeed, plan.depth, bound) : new RandomWalk(execSeed);
  const { reports, stepBound, simToken } = runOne(scenario, sim, strat);
  const first = reports[0];
  const record: ExecRecord = {
    index: i,
    kind,
    steps: sim.step,
    stepBound,
    bound: kind === "pct" ? bound : 0,
    fp: first === undefined ? null : fingerprint(first),
    pruned: 0,
  };
  return { record, sim, reports, simToken };
}

function runSpan(scenario: Scenario, t: SpanTask): ExecRecord[] {
  const { plan, shared } = t;
  const existing = new Map<number, readonly [number, number, number, number]>();
  for (const e of t.existing) existing.set(e[0], e);
  const out: ExecRecord[] = [];
  let max = t.startMax;
  for (let i = t.from; i < t.to; i++) {
    const kind = kindAt(plan, i, t.dfsEnd);
    if (kind === null) continue;
    const have = existing.get(i);
    if (kind === "dfs") {
      // Another task runs it; its length still counts towards PCT's estimate.
      if (have !== undefined) max = Math.max(max, have[1]);
      continue;
    }
    if (now() > plan.deadline || Atomics.load(shared, STOP) !== 0 || i >= Atomics.load(shared, RUN_END)) break;
    if (t.stopAtShared && plan.stopAtFirst && Atomics.load(shared, LOWEST_FAILURE) < i) break;
    const bound = pctBound(max);
    if (have !== undefined && (kind !== "pct" || have[2] === bound)) {
      max = Math.max(max, have[1]);
      if (have[3] === 1 && plan.stopAtFirst) break;
      continue;
    }
    const { record } = runIndexed(scenario, plan, i, kind, bound);
    out.push(record);
    max = Math.max(max, record.steps);
    if (record.fp !== null) {
      publishMin(shared, LOWEST_FAILURE, i);
      if (kind === "random") publishMin(shared, LOWEST_SURE_FAILURE, i);
      if (plan.stopAtFirst) break;
    }
  }
  return out;
}

function runDfs(scenario: Scenario, t: DfsTask): DfsOutcome {
  const { plan, shared } = t;
  const [index, count] = plan.shard;
  const search = new DfsSearch({ ...plan.dfs, ...(count > 1 ? { shard: [index, count] as const } : {}) });
  const records: ExecRecord[] = [];
  const candidates: DfsCandidate[] = [];
  const seen = new Set<string>();
  // Infinity: the search went through the budget without running out.
  let end: number | null = Infinity;
  for (let i = 2; i < plan.budget; i += 3) {
    // Nothing after a failure that is certain to stand can matter.
    if (now() > plan.deadline || Atomics.load(shared, STOP) !== 0 || (plan.stopAtFirst && Atomics.load(shared, LOWEST_SURE_FAILURE) < i)) {
      end = null;
      break;
    }
    const sim = newSim(deriveSeed(plan.seedU32, i), plan.maxSteps, plan.checks ?? undefined);
    const next = search.next(sim);
    if (next === null) {
      end = i;
      break;
    }
    const prunedBefore = search.pruned;
    const { reports, stepBound, simToken, trace } = runOne(scenario, sim, next);
    const first = reports[0];
    const fp = first === undefined ? null : fingerprint(first);
    records.push({ index: i, kind: "dfs", steps: sim.step, stepBound, bound: 0, fp, pruned: search.pruned - prunedBefore });
    if (fp === null) continue;
    publishMin(shared, LOWEST_FAILURE, i);
    publishMin(shared, LOWEST_SURE_FAILURE, i);
    if (!seen.has(fp)) {
      seen.add(fp);
      candidates.push({ index: i, choices: [...sim.choices], reports, simToken, trace });
    }
    if (plan.stopAtFirst) {
      end = null;
      break;
    }
  }
  return { records, candidates, end };
}

function runFailure(scenario: Scenario, t: FailureTask): Failure {
  const { plan, record } = t;
  const ctx: FailureContext = {
    name: plan.name ?? (scenario.name === "" ? "scenario" : scenario.name),
    label: record.kind === "dfs" ? describeDfs(plan.dfs) : record.kind === "pct" ? `pct(${plan.depth})` : "random",
    execSeed: deriveSeed(plan.seedU32, record.index),
    index: record.index,
    maxSteps: plan.maxSteps,
    checks: plan.checks ?? undefined,
    shrink: plan.shrink,
  };
  if (record.kind === "dfs") {
    const c = t.candidate;
    if (c === null) throw new UsageError(`internal: DFS execution ${record.index} failed but its choices were not kept`);
    return makeFailure(scenario, ctx, c.choices, c.reports, c.simToken, c.trace, record.fp as string);
  }
  // Random and PCT executions depend only on their index (and PCT's bound): run it again.
  const again = runIndexed(scenario, plan, record.index, record.kind, record.bound);
  if (again.record.fp !== record.fp) {
    throw new UsageError(
      `the scenario is not deterministic: execution ${record.index} failed as "${record.fp ?? "nothing"}" and, run again, as "${again.record.fp ?? "nothing"}" ` +
        "(scenarios must not depend on anything but the Sim)",
    );
  }
  return makeFailure(scenario, ctx, again.sim.choices, again.reports, again.simToken, again.sim.traceHash, record.fp as string);
}

async function perform(task: WorkerTask): Promise<unknown> {
  if (task.type === "explore") return explore(await loadScenario(task.target), task.options);
  const scenario = await loadScenario(task.plan.target);
  if (task.type === "span") return runSpan(scenario, task);
  if (task.type === "dfs") return runDfs(scenario, task);
  return runFailure(scenario, task);
}

/** The pool's entry point in the worker (tinypool calls the default export). */
export default async function handle(task: WorkerTask): Promise<WorkerReply<unknown>> {
  try {
    return { ok: true, value: await perform(task) };
  } catch (error) {
    return { ok: false, error: toWorkerError(error) };
  }
}

/** Check and resolve `options` exactly as explore() does (the same code, the same errors). */
export function resolvePlan(target: ScenarioModule, options: ExploreOptions, start: number): RunPlan {
  const { strategy, budget, maxSteps, seed, seedU32, timeMs, shard, stopAtFirst, shrink } = resolveOptions(options);
  const { kind, depth, dfs } = strategy;
  return {
    target: { module: target.module, export: target.export },
    kind,
    depth,
    dfs,
    budget,
    maxSteps,
    seed,
    seedU32,
    checks: options.checks ?? null,
    stopAtFirst,
    shrink,
    name: options.name ?? null,
    shard,
    deadline: start + timeMs,
  };
}

/** explore()'s result name for a strategy. */
export function describeStrategy(plan: RunPlan): string {
  return plan.kind === "dfs" ? describeDfs(plan.dfs) : plan.kind === "pct" ? `pct(${plan.depth})` : plan.kind;
}
