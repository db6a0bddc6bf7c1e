/**
 * The protocol between the worker pool (pool.ts) and its workers
 * (worker.ts): the tasks the pool sends, the records and outcomes workers
 * send back, the cells of memory they share, and errors rebuilt across the
 * thread boundary. Everything here is plain data (structured clone).
 *
 * Four tasks:
 * - `span`: executions [from, to) that are missing or whose PCT estimate was
 *   wrong, reusing the records the pool already has; returns new records;
 * - `dfs`: the portfolio's DFS executions (the plan's dfsIndices), in order,
 *   in one search; returns their records, the index where the search ran
 *   out, and each new failure's choices (a DFS execution cannot be re-run
 *   alone: it depends on the search's state);
 * - `failure`: turn one failing execution into a Failure (re-run, shrink,
 *   token);
 * - `explore`: a whole explore() run (the DFS strategy: a sequential search).
 */
import { ArgumentError, ArgumentRangeError, GpuvmSimError, TokenError, UsageError } from "../errors.js";
import { isInstance, thrownText } from "../validate.js";
import type { Report } from "../report/report.js";
import type { ScenarioModule } from "./load.js";
import type { ExploreOptions, ResolvedOptions } from "./options.js";
import type { SearchKind } from "./search.js";

/** What every task of one run shares: the scenario, explore()'s resolved options, the deadline. */
export interface RunPlan {
  readonly target: ScenarioModule;
  readonly options: ResolvedOptions;
  /** Wall-clock deadline, ms since the epoch (Infinity: none). */
  readonly deadline: number;
}

/** What the pool keeps of one execution. */
export interface ExecRecord {
  readonly index: number;
  readonly kind: SearchKind;
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
  /** The search ran out, but some execution was cut by the step limit: it proves nothing, and the portfolio goes on. */
  readonly truncated: boolean;
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
  else if (e.argument !== null && e.name === "TokenError") error = Object.assign(new TokenError(e.argument, "", ""), { message: e.message });
  else if (e.name === "UsageError") error = new UsageError(e.message);
  else if (e.name === "GpuvmSimError") error = new GpuvmSimError(e.message);
  else {
    error = new Error(e.message);
    error.name = e.name;
  }
  if (e.stack !== null) error.stack = e.stack;
  return error;
}

/** @internal An error as it crosses from a worker. */
export function toWorkerError(error: unknown): WorkerError {
  const t = thrownText(error);
  if (!isInstance(error, Error)) return { name: "Error", message: t.message, argument: null, stack: null };
  let argument: unknown;
  try {
    argument = (error as { argument?: unknown }).argument;
  } catch {
    argument = undefined;
  }
  return { name: t.name, message: t.message, argument: typeof argument === "string" ? argument : null, stack: t.stack };
}

/** Lower `cell` to `value` if that is lower (an atomic min). */
export function publishMin(shared: Int32Array, cell: number, value: number): void {
  for (;;) {
    const old = Atomics.load(shared, cell);
    if (old <= value || Atomics.compareExchange(shared, cell, old, value) === old) return;
  }
}
