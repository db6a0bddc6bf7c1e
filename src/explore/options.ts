/**
 * explore()'s options: their types, their defaults, and the one function
 * that checks them and fills the defaults in (resolveOptions), which both
 * explore() and the worker pool call.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { CHECKS_SPEC, type Checks } from "../kernel/sim.js";
import { checkOptions, describeValue, is, type Rule, type Spec } from "../validate.js";
import type { DfsOptions } from "./strategy/dfs.js";
import { tokenNameProblem } from "./execution.js";

/** How to explore. */
export type ExploreStrategy =
  | "random"
  | "pct"
  | "dfs"
  | "portfolio"
  | { readonly name: "pct"; readonly depth?: number }
  | ({ readonly name: "dfs" } & DfsOptions);

/** Options of explore(); every field is optional. */
export interface ExploreOptions {
  /** Default `"portfolio"`: random, PCT (depth 3) and DFS with reduction, in turn. */
  readonly strategy?: ExploreStrategy;
  /** Executions to run (default 1,000; for sharded runs, across all shards). */
  readonly executions?: number;
  /** Wall-clock budget in milliseconds (default: none). */
  readonly timeMs?: number;
  /** Steps per execution before it counts as hitting the step bound (default 10,000). */
  readonly maxSteps?: number;
  /** The run's seed (default 0): execution i runs with a seed derived from it and i. */
  readonly seed?: number;
  /** Stop at the first failure (default true), or collect every distinct one. */
  readonly stopAtFirst?: boolean;
  /** Shrink failing schedules (default true). */
  readonly shrink?: boolean;
  /**
   * The scenario's name in tokens (default: the function's own name, made
   * fit: see docs/exploration.md). Non-empty, well-formed UTF-16, at most
   * 1,024 characters (MAX_NAME_LENGTH); else an ArgumentError naming `name`.
   */
  readonly name?: string;
  /** Run only shard `index` of `count` (default [0, 1]); see docs/exploration.md. */
  readonly shard?: readonly [number, number];
  /** Checks to switch off in every execution (default: all on). */
  readonly checks?: Partial<Checks>;
}

/** @internal */
export const DEFAULTS = { executions: 1000, maxSteps: 10_000, seed: 0, pctDepth: 3 } as const;

/**
 * The most executions one explore() runs: 10^9. The explorer keeps
 * per-execution bookkeeping sized by the budget (and the worker pool shares
 * indices as 32-bit integers), so a larger budget would exhaust memory
 * before it ran; a run that long is a sharded one (`shard`).
 */
export const MAX_EXECUTIONS = 1_000_000_000;

/**
 * The deepest PCT search: depth 10,000. PCT draws depth - 1 priority change
 * points up front; a bug of depth d needs d - 1 of them, and depths past a
 * handful find nothing random walks would not.
 */
export const MAX_PCT_DEPTH = 10_000;

/**
 * Check a `[index, count]` shard pair: an array of two safe integers with
 * 0 <= index < count. ArgumentError naming `argument` for another shape,
 * ArgumentRangeError for numbers out of range.
 */
export function checkShard(argument: string, v: unknown): readonly [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new ArgumentError(argument, `must be [index, count], got ${describeValue(v)}`);
  const [index, count] = v as unknown[];
  if (typeof index !== "number" || typeof count !== "number") {
    throw new ArgumentError(argument, `must be [index, count] of two numbers, got [${describeValue(index)}, ${describeValue(count)}]`);
  }
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new ArgumentRangeError(argument, `must be [index, count] with 0 <= index < count, got [${index}, ${count}]`);
  }
  return [index, count];
}

/** @internal The strategy option, checked: which search, PCT's depth, DFS's options. */
export interface Resolved {
  readonly kind: "random" | "pct" | "dfs" | "portfolio";
  readonly depth: number;
  readonly dfs: DfsOptions;
}

/**
 * @internal Check the strategy option. Throws an ArgumentError or
 * ArgumentRangeError naming the field (`strategy`, `strategy.depth`, ...).
 */
export function resolveStrategy(s: ExploreStrategy | undefined): Resolved {
  const none: DfsOptions = {};
  if (s === undefined || s === "portfolio") return { kind: "portfolio", depth: DEFAULTS.pctDepth, dfs: none };
  if (s === "random" || s === "pct" || s === "dfs") return { kind: s, depth: DEFAULTS.pctDepth, dfs: none };
  if (typeof s !== "object" || (s as object | null) === null || Array.isArray(s)) {
    throw new ArgumentError("strategy", `${STRATEGY_FORMS}, got ${describeValue(s)}`);
  }
  if (s.name === "pct") checkOptions("strategy", s, PCT_SPEC);
  else if ((s.name as string) === "dfs") checkOptions("strategy", s, DFS_SPEC);
  if (s.name === "pct") {
    const depth = s.depth ?? DEFAULTS.pctDepth;
    if (typeof depth !== "number") throw new ArgumentError("strategy.depth", `must be a positive integer, got ${describeValue(depth)}`);
    if (!Number.isSafeInteger(depth) || depth < 1 || depth > MAX_PCT_DEPTH) {
      throw new ArgumentRangeError("strategy.depth", `must be an integer from 1 to ${MAX_PCT_DEPTH}, got ${depth}`);
    }
    return { kind: "pct", depth, dfs: none };
  }
  if ((s.name as string) !== "dfs") throw new ArgumentError("strategy.name", `${STRATEGY_FORMS}, got name ${describeValue(s.name)}`);
  for (const b of ["preemptionBound", "delayBound"] as const) {
    const v = s[b];
    if (v !== undefined) is.count(`strategy.${b}`, v);
  }
  if (s.shard !== undefined) checkShard("strategy.shard", s.shard);
  if (!([undefined, "dpor", "none"] as unknown[]).includes(s.reduction)) throw new ArgumentError("strategy.reduction", 'must be "dpor" or "none"');
  return { kind: "dfs", depth: DEFAULTS.pctDepth, dfs: s };
}

const STRATEGY_FORMS = 'must be "random", "pct", "dfs", "portfolio", or { name: "pct" | "dfs", ... }';

/** The keys of a PCT strategy object (depth is checked with its own message below). */
const PCT_SPEC: Spec<{ name: "pct"; depth?: number }> = { name: is.any, depth: is.any };

/** The keys of a DFS strategy object (values checked below, with their own messages). */
const DFS_SPEC: Spec<{ name: "dfs" } & DfsOptions> = { name: is.any, reduction: is.any, preemptionBound: is.any, delayBound: is.any, shard: is.any };

/** A [index, count] pair. */
const pair: Rule = (argument, v) => {
  checkShard(argument, v);
};

/** The rules of explore()'s options; the range checks with their messages follow in resolveOptions. */
export const EXPLORE_OPTIONS: Spec<ExploreOptions> = {
  strategy: is.any, // resolveStrategy()
  executions: is.any,
  timeMs: is.any,
  maxSteps: is.any,
  seed: is.safeInteger,
  stopAtFirst: is.boolean,
  shrink: is.boolean,
  name: (argument, v) => {
    is.nonEmptyString(argument, v);
    const problem = tokenNameProblem(v as string);
    if (problem !== null) throw new ArgumentError(argument, problem);
  },
  shard: pair,
  checks: is.options(CHECKS_SPEC),
};

/** @internal `v` (default `dflt`), or an ArgumentRangeError naming `name` if it is not a positive safe integer. */
export function positive(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (typeof x !== "number") throw new ArgumentError(name, `must be a positive integer, got ${describeValue(x)}`);
  if (!Number.isSafeInteger(x) || x < 1) throw new ArgumentRangeError(name, `must be a positive integer, got ${x}`);
  return x;
}

/** @internal explore()'s options, checked and with their defaults. Plain data: it crosses into workers. */
export interface ResolvedOptions {
  readonly strategy: Resolved;
  readonly budget: number;
  readonly maxSteps: number;
  /** `options.seed` as given, and as used (modulo 2^32). */
  readonly seed: number;
  readonly seedU32: number;
  /** Milliseconds, Infinity for none. */
  readonly timeMs: number;
  readonly shard: readonly [number, number];
  readonly stopAtFirst: boolean;
  readonly shrink: boolean;
  /** `options.checks`, or null. */
  readonly checks: Partial<Checks> | null;
  /** `options.name`, or null for the scenario function's own name. */
  readonly name: string | null;
}

/**
 * @internal Check `options` and fill in the defaults. Throws an
 * ArgumentError or ArgumentRangeError naming the option.
 */
export function resolveOptions(options: ExploreOptions, spec: Spec<ExploreOptions> = EXPLORE_OPTIONS): ResolvedOptions {
  // `null` is refused here: from now on `options` is an object.
  checkOptions("options", options, spec);
  const strategy = resolveStrategy(options.strategy);
  const budget = positive("executions", options.executions, DEFAULTS.executions);
  if (budget > MAX_EXECUTIONS) throw new ArgumentRangeError("executions", `must be at most ${MAX_EXECUTIONS}, got ${budget}`);
  const maxSteps = positive("maxSteps", options.maxSteps, DEFAULTS.maxSteps);
  const seed = options.seed ?? DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new ArgumentRangeError("seed", `must be a safe integer, got ${seed}`);
  const timeMs = options.timeMs ?? Infinity;
  if (typeof timeMs !== "number") throw new ArgumentError("timeMs", `must be a number of milliseconds, got ${describeValue(timeMs)}`);
  if (!(timeMs > 0)) throw new ArgumentRangeError("timeMs", `must be > 0, got ${timeMs}`);
  const [shardIndex, shardCount] = options.shard === undefined ? [0, 1] : checkShard("shard", options.shard);
  return {
    strategy,
    budget,
    maxSteps,
    seed,
    seedU32: Number(BigInt.asUintN(32, BigInt(seed))),
    timeMs,
    shard: [shardIndex, shardCount],
    stopAtFirst: options.stopAtFirst ?? true,
    shrink: options.shrink ?? true,
    checks: options.checks ?? null,
    name: options.name ?? null,
  };
}

/** @internal The name of a DFS configuration in tokens and results (`dfs`, `dfs-all`, `dfs-pb2-db1`). */
export function describeDfs(o: DfsOptions): string {
  const parts = [o.reduction === "none" ? "dfs-all" : "dfs"];
  if (o.preemptionBound !== undefined) parts.push(`pb${o.preemptionBound}`);
  if (o.delayBound !== undefined) parts.push(`db${o.delayBound}`);
  return parts.join("-");
}
