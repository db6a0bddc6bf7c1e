/**
 * explore(): run a scenario many times under a strategy, and replay().
 *
 * A scenario builds a fresh world in the Sim it is given and spawns its
 * tasks; explore() runs it once per execution, each in a new Sim with its own
 * seed (derived from the run's seed and the execution's index) and a fresh
 * lockdep boot, so every execution, and every failure, replays alone.
 * Strategies: `random` walks, `pct` (probabilistic concurrency testing),
 * `dfs` (exhaustive, with partial-order reduction and optional bounds), and
 * `portfolio` (the default: random, PCT and DFS in turn).
 *
 * A failure is an execution that filed a report (hitting the step limit is
 * counted, not a failure; a livelock is one). Failures are told apart by a
 * fingerprint (kind and headline, numbers masked); each is shrunk to the
 * schedule with the fewest context switches that still fails the same way,
 * and carries a replay token.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { deriveSeed } from "../kernel/prng.js";
import type { Strategy } from "../kernel/scheduler.js";
import { Sim, type Checks } from "../kernel/sim.js";
import { Lockdep } from "../kernel/lockdep.js";
import type { Report } from "../report/report.js";
import { fingerprint } from "../report/fingerprint.js";
import { VERSION } from "../version.js";
import { decodeToken, encodeToken, ReplayStrategy, type Divergence } from "./replay.js";
import { GuidedStrategy, shrinkChoices, type Trial } from "./shrink.js";
import { DfsSearch, type DfsOptions } from "./strategy/dfs.js";
import { Pct } from "./strategy/pct.js";
import { RandomWalk } from "./strategy/random.js";

/** Builds a world in the given Sim and spawns its tasks; must not run it. */
export type Scenario = (sim: Sim) => void;

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
  /** The scenario's name in tokens (default: the function's name, or "scenario"). */
  readonly name?: string;
  /** Run only shard `index` of `count` (default [0, 1]); see docs/exploration.md. */
  readonly shard?: readonly [number, number];
  /** Checks to switch off in every execution (default: all on). */
  readonly checks?: Partial<Checks>;
}

/** One distinct failure. */
export interface Failure {
  /** The first report of the (shrunk) failing execution; its `replay` is the token. */
  readonly report: Report;
  /** Every report of that execution. */
  readonly reports: readonly Report[];
  /** Replays the execution: `replay(scenario, token)`. */
  readonly token: string;
  /** The index of the execution that found it. */
  readonly execution: number;
  /** The strategy that found it (`random`, `pct(3)`, `dfs`). */
  readonly strategy: string;
  /** What tells this failure from others: kind and headline, numbers masked. */
  readonly fingerprint: string;
  /** Context switches of the schedule as found and after shrinking, or null if not shrunk. */
  readonly shrunk: { readonly from: number; readonly to: number } | null;
  /**
   * For a lock-order cycle found without a deadlock: an execution that does
   * deadlock on those locks, if the explorer found one (see DEADLOCK_SEARCH),
   * with its token and its deadlock report.
   */
  readonly deadlock: { readonly token: string; readonly report: Report } | null;
}

/** How many executions the explorer spends looking for the deadlock behind a lock-order cycle. */
export const DEADLOCK_SEARCH = 300;

export interface ExploreResult {
  /** The strategy run, as tokens name it (`portfolio`, `random`, `pct(3)`, `dfs-pb2`). */
  readonly strategy: string;
  /** The run's seed. */
  readonly seed: number;
  readonly executions: number;
  /** Executions that filed a report. */
  readonly failed: number;
  readonly failures: readonly Failure[];
  readonly steps: { readonly min: number; readonly mean: number; readonly max: number };
  /** Executions that hit `maxSteps` without a livelock. */
  readonly stepBoundHits: number;
  /** DFS executions cut short by the reduction (they repeated an explored schedule). */
  readonly pruned: number;
  /** Whether DFS explored every schedule (within its bounds). */
  readonly exhausted: boolean;
  /** Why the run stopped: `failure` (stopAtFirst), `executions`, `time`, or `exhausted`. */
  readonly stoppedBy: "failure" | "executions" | "time" | "exhausted";
  readonly timeMs: number;
}

/** @internal Shared with the worker pool (worker.ts), as are the other @internal helpers below. */
export const DEFAULTS = { executions: 1000, maxSteps: 10_000, seed: 0, pctDepth: 3 } as const;

/** What "fails the same way" means: built from the report's fields, kind by kind (see report/fingerprint.ts). */
export { fingerprint };

/**
 * @internal PCT's estimate of an execution's length: the longest execution
 * before it, at least 16. The worker pool uses the same rule, so results do
 * not depend on the number of workers.
 */
export function pctBound(maxBefore: number): number {
  return Math.max(16, maxBefore);
}

/** @internal */
export interface Resolved {
  readonly kind: "random" | "pct" | "dfs" | "portfolio";
  readonly depth: number;
  readonly dfs: DfsOptions;
}

/** @internal */
export function resolveStrategy(s: ExploreStrategy | undefined): Resolved {
  const none: DfsOptions = {};
  if (s === undefined || s === "portfolio") return { kind: "portfolio", depth: DEFAULTS.pctDepth, dfs: none };
  if (s === "random" || s === "pct" || s === "dfs") return { kind: s, depth: DEFAULTS.pctDepth, dfs: none };
  if (s.name === "pct") {
    const depth = s.depth ?? DEFAULTS.pctDepth;
    if (!Number.isSafeInteger(depth) || depth < 1) throw new ArgumentRangeError("strategy.depth", `must be a positive integer, got ${depth}`);
    return { kind: "pct", depth, dfs: none };
  }
  if ((s.name as string) !== "dfs") {
    throw new ArgumentError("strategy", 'must be "random", "pct", "dfs", "portfolio", or { name: "pct" | "dfs", ... }');
  }
  for (const b of ["preemptionBound", "delayBound"] as const) {
    const v = s[b];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new ArgumentRangeError(`strategy.${b}`, `must be an integer >= 0, got ${v}`);
  }
  if (!([undefined, "dpor", "none"] as unknown[]).includes(s.reduction)) throw new ArgumentError("strategy.reduction", 'must be "dpor" or "none"');
  return { kind: "dfs", depth: DEFAULTS.pctDepth, dfs: s };
}

/** @internal */
export function positive(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x < 1) throw new ArgumentRangeError(name, `must be a positive integer, got ${x}`);
  return x;
}

/** @internal A Sim for one execution: reports collected, its own lockdep boot. */
export function newSim(seed: number, maxSteps: number, checks: Partial<Checks> | undefined, captureStacks = false): Sim {
  return new Sim({ seed, onReport: "collect", maxSteps, lockdep: new Lockdep(), captureStacks, ...(checks === undefined ? {} : { checks }) });
}

/** @internal Run the scenario in `sim` under `strategy`; the reports that count as failures. */
export function runOne(
  scenario: Scenario,
  sim: Sim,
  strategy: Strategy,
): { reports: Report[]; stepBound: boolean; simToken: string; trace: string } {
  sim.setStrategy(strategy);
  scenario(sim);
  const outcome = sim.runAll().outcome;
  if (outcome === "done") sim.teardown();
  // A run cut short by the reduction (the only way an explored run stops)
  // repeats an explored schedule: what it found is found there, with a
  // token that replays to the end.
  const reports = outcome === "stopped" ? [] : sim.reports.filter((r) => r.kind !== "step-limit");
  return { reports, stepBound: outcome === "step-limit", simToken: sim.replayToken, trace: sim.traceHash };
}

/**
 * The reports with the explorer's token in place of the execution's own Sim
 * token, wherever it appears (the report's replay line, lockdep witnesses).
 */
function withToken(reports: readonly Report[], token: string, simToken: string): Report[] {
  return reports.map(
    (r) => JSON.parse(JSON.stringify(r, (key, value: unknown) => (key === "replay" && value === simToken ? token : value))) as Report,
  );
}

/** @internal explore()'s options, checked and with their defaults. */
export interface ResolvedOptions {
  readonly strategy: Resolved;
  readonly budget: number;
  readonly maxSteps: number;
  readonly seed: number;
  readonly seedU32: number;
  readonly timeMs: number;
  readonly shard: readonly [number, number];
  readonly stopAtFirst: boolean;
  readonly shrink: boolean;
}

/** @internal Check `options` (typed errors naming the option) and fill in the defaults. */
export function resolveOptions(options: ExploreOptions): ResolvedOptions {
  const strategy = resolveStrategy(options.strategy);
  const budget = positive("executions", options.executions, DEFAULTS.executions);
  const maxSteps = positive("maxSteps", options.maxSteps, DEFAULTS.maxSteps);
  const seed = options.seed ?? DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new ArgumentRangeError("seed", `must be a safe integer, got ${seed}`);
  const timeMs = options.timeMs ?? Infinity;
  if (!(timeMs > 0)) throw new ArgumentRangeError("timeMs", `must be > 0, got ${timeMs}`);
  const [shardIndex, shardCount] = options.shard ?? [0, 1];
  if (!Number.isSafeInteger(shardCount) || shardCount < 1 || !Number.isSafeInteger(shardIndex) || shardIndex < 0 || shardIndex >= shardCount) {
    throw new ArgumentRangeError("shard", `must be [index, count] with 0 <= index < count, got [${shardIndex}, ${shardCount}]`);
  }
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
  };
}

/**
 * Explore the interleavings of `scenario`. Returns statistics and the
 * failures found; never throws for a failure (use the Vitest matchers, or
 * check `failures`).
 */
export function explore(scenario: Scenario, options: ExploreOptions = {}): ExploreResult {
  if (typeof scenario !== "function") throw new ArgumentError("scenario", "must be a function (sim) => void");
  const { strategy, budget, maxSteps, seed, seedU32, timeMs, shard, stopAtFirst, shrink: doShrink } = resolveOptions(options);
  const [shardIndex, shardCount] = shard;
  const name = options.name ?? (scenario.name === "" ? "scenario" : scenario.name);

  const dfs =
    strategy.kind === "dfs" || strategy.kind === "portfolio"
      ? new DfsSearch({ ...strategy.dfs, ...(shardCount > 1 ? { shard: [shardIndex, shardCount] as const } : {}) })
      : null;
  const failures: Failure[] = [];
  const seen = new Set<string>();
  let executions = 0;
  let failed = 0;
  let stepBoundHits = 0;
  let minSteps = Infinity;
  let maxSeen = 0;
  let totalSteps = 0;
  let stoppedBy: ExploreResult["stoppedBy"] = "executions";
  const start = performance.now();

  for (let i = 0; i < budget; i++) {
    if (performance.now() - start > timeMs) {
      stoppedBy = "time";
      break;
    }
    // Which strategy runs execution i; DFS is sharded by subtree, the others by index.
    let kind = strategy.kind === "portfolio" ? (["random", "pct", "dfs"] as const)[i % 3] : strategy.kind;
    if (dfs?.exhausted === true) {
      // Every schedule (and every outcome of every injected choice) was run:
      // nothing is left to find.
      stoppedBy = "exhausted";
      break;
    }
    if (kind !== "dfs" && i % shardCount !== shardIndex) continue;
    const execSeed = deriveSeed(seedU32, i);
    const sim = newSim(execSeed, maxSteps, options.checks);
    let strat: Strategy;
    let label: string;
    const next = kind === "dfs" ? (dfs as DfsSearch).next(sim) : null;
    if (kind === "dfs" && next === null) {
      if (strategy.kind === "dfs") {
        stoppedBy = "exhausted";
        break;
      }
      kind = i % 2 === 0 ? "random" : "pct"; // the portfolio goes on without DFS
    }
    if (next !== null) {
      strat = next;
      label = describeDfs(strategy.dfs);
    } else if (kind === "pct") {
      strat = new Pct(execSeed, strategy.depth, pctBound(maxSeen));
      label = `pct(${strategy.depth})`;
    } else {
      strat = new RandomWalk(execSeed);
      label = "random";
    }
    const { reports, stepBound } = runOne(scenario, sim, strat);
    executions++;
    totalSteps += sim.step;
    minSteps = Math.min(minSteps, sim.step);
    maxSeen = Math.max(maxSeen, sim.step);
    if (stepBound) stepBoundHits++;
    const first = reports[0];
    if (first === undefined) continue;
    failed++;
    const fp = fingerprint(first);
    if (seen.has(fp)) continue;
    seen.add(fp);
    failures.push(
      makeFailure(scenario, { name, label, execSeed, index: i, maxSteps, checks: options.checks, shrink: doShrink }, sim.choices, reports, sim.replayToken, sim.traceHash, fp),
    );
    if (stopAtFirst) {
      stoppedBy = "failure";
      break;
    }
  }
  if (dfs?.exhausted === true && stoppedBy === "executions" && strategy.kind === "dfs") stoppedBy = "exhausted";
  return {
    strategy: strategy.kind === "dfs" ? describeDfs(strategy.dfs) : strategy.kind === "pct" ? `pct(${strategy.depth})` : strategy.kind,
    seed,
    executions,
    failed,
    failures,
    steps: { min: executions === 0 ? 0 : minSteps, mean: executions === 0 ? 0 : totalSteps / executions, max: maxSeen },
    stepBoundHits,
    pruned: dfs?.pruned ?? 0,
    exhausted: dfs?.exhausted ?? false,
    stoppedBy,
    timeMs: performance.now() - start,
  };
}

/** @internal */
export function describeDfs(o: DfsOptions): string {
  const parts = [o.reduction === "none" ? "dfs-all" : "dfs"];
  if (o.preemptionBound !== undefined) parts.push(`pb${o.preemptionBound}`);
  if (o.delayBound !== undefined) parts.push(`db${o.delayBound}`);
  return parts.join("-");
}

/** @internal */
export interface FailureContext {
  readonly name: string;
  readonly label: string;
  readonly execSeed: number;
  readonly index: number;
  readonly maxSteps: number;
  readonly checks: Partial<Checks> | undefined;
  readonly shrink: boolean;
}

/** @internal Shrink a failing execution, make its token, and look for the deadlock behind a lock-order cycle. */
export function makeFailure(
  scenario: Scenario,
  ctx: FailureContext,
  choices: readonly number[],
  reports: readonly Report[],
  simToken: string,
  trace: string,
  fp: string,
): Failure {
  let finalChoices = choices;
  let finalReports = reports;
  let finalSimToken = simToken;
  let finalTrace = trace;
  let shrunk: Failure["shrunk"] = null;
  if (ctx.shrink) {
    const trialReports = new Map<readonly number[], { reports: Report[]; simToken: string; trace: string }>();
    const run = (c: readonly number[]): Trial => {
      const sim = newSim(ctx.execSeed, ctx.maxSteps, ctx.checks);
      const guide = new GuidedStrategy(c);
      const { reports: rs, simToken, trace: t2 } = runOne(scenario, sim, guide);
      const first = rs[0];
      const t = { fails: first !== undefined && fingerprint(first) === fp, choices: [...sim.choices], switches: guide.switches };
      trialReports.set(t.choices, { reports: rs, simToken, trace: t2 });
      return t;
    };
    const original = run(choices);
    const best = shrinkChoices(choices, run);
    const kept = trialReports.get(best.choices);
    if (best.fails && Number.isFinite(best.switches) && kept !== undefined) {
      finalChoices = best.choices;
      finalReports = kept.reports;
      finalSimToken = kept.simToken;
      finalTrace = kept.trace;
      shrunk = { from: original.fails ? original.switches : best.switches, to: best.switches };
    }
  }
  const token = encodeToken({ version: VERSION, scenario: ctx.name, strategy: ctx.label, seed: ctx.execSeed, trace: finalTrace, choices: finalChoices });
  const withTok = withToken(finalReports, token, finalSimToken);
  const first = withTok[0] as Report;
  return {
    report: first,
    reports: withTok,
    token,
    execution: ctx.index,
    strategy: ctx.label,
    fingerprint: fp,
    shrunk,
    deadlock: first.kind === "lock-order-cycle" && !first.actual ? findDeadlock(scenario, ctx) : null,
  };
}

/**
 * Look for an execution where tasks deadlock on locks for real: PCT and
 * random walks, which switch tasks at arbitrary points, over
 * DEADLOCK_SEARCH executions with seeds of their own.
 */
function findDeadlock(scenario: Scenario, ctx: FailureContext): Failure["deadlock"] {
  for (let k = 0; k < DEADLOCK_SEARCH; k++) {
    const seed = deriveSeed(ctx.execSeed, 0x10000 + k);
    const sim = newSim(seed, ctx.maxSteps, ctx.checks);
    const pct = k % 2 === 0;
    const { reports, simToken, trace } = runOne(scenario, sim, pct ? new Pct(seed, 3, 64) : new RandomWalk(seed));
    // A deadlock in which some task waits for a lock: the cycle, come true.
    const deadlock = reports.find((r) => r.kind === "deadlock" && r.blocked.some((e) => e.blockedIn === "lock"));
    if (deadlock === undefined) continue;
    const token = encodeToken({ version: VERSION, scenario: ctx.name, strategy: pct ? "pct(3)" : "random", seed, trace, choices: sim.choices });
    return { token, report: withToken([deadlock], token, simToken)[0] as Report };
  }
  return null;
}

/**
 * @internal One line naming a failure: the report's kind, which strategy
 * found it in which execution, and what shrinking did. Shared by the CLI and
 * the Vitest messages.
 */
export function failureHeading(f: Failure, index: number, count: number, report: Report = f.report): string {
  const switches = (n: number) => `${n} context switch${n === 1 ? "" : "es"}`;
  const shrunk =
    f.shrunk === null
      ? ""
      : f.shrunk.from === f.shrunk.to
        ? `, ${switches(f.shrunk.to)} (shrinking found no fewer)`
        : `, shrunk from ${switches(f.shrunk.from)} to ${f.shrunk.to}`;
  const which = f.reports.length > 1 && report !== f.report ? ` (report ${f.reports.indexOf(report) + 1} of ${f.reports.length} in that execution)` : "";
  return `Failure ${index + 1} of ${count}: ${report.kind}, found by ${f.strategy} at execution ${f.execution}${shrunk}${which}`;
}

/** What replay() found. */
export interface ReplayResult {
  /** The reports of the replayed execution (with JavaScript stacks at every site, unless `stacks: false`). */
  readonly reports: readonly Report[];
  /** The first of them, or null. */
  readonly report: Report | null;
  /** Where the replay stopped following the token, or null if it followed it to the end. */
  readonly divergence: Divergence | null;
}

/** Options of replay(). */
export interface ReplayOptions {
  /** Record a JavaScript stack at every site (default true). */
  readonly stacks?: boolean;
  /** As in explore() (default 10,000); must match the run that made the token. */
  readonly maxSteps?: number;
  /** As in explore(); must match the run that made the token. */
  readonly checks?: Partial<Checks>;
}

/**
 * Replay one execution from its token. If the scenario changed since, the
 * result says at which choice and step the replay diverged, and why.
 */
export function replay(scenario: Scenario, token: string, options: ReplayOptions = {}): ReplayResult {
  if (typeof scenario !== "function") throw new ArgumentError("scenario", "must be a function (sim) => void");
  const data = decodeToken(token);
  const maxSteps = positive("maxSteps", options.maxSteps, DEFAULTS.maxSteps);
  const sim = newSim(data.seed, maxSteps, options.checks, options.stacks ?? true);
  const strategy = new ReplayStrategy(sim, data.choices);
  const { reports } = runOne(scenario, sim, strategy);
  let divergence = strategy.divergence;
  if (divergence === null && !strategy.complete) {
    divergence = { choice: strategy.used, step: sim.step, reason: `the run ended after ${strategy.used} of the ${data.choices.length} recorded choices` };
  }
  if (divergence === null && sim.traceHash !== data.trace) {
    divergence = {
      choice: strategy.used,
      step: sim.step,
      reason: `the effects after the last recorded choice differ from the recording (trace ${sim.traceHash}, recorded ${data.trace})`,
    };
  }
  if (divergence !== null && data.version !== VERSION) {
    divergence = { ...divergence, reason: `${divergence.reason} (the token was made by gpuvm-sim ${data.version}; this is ${VERSION})` };
  }
  const withTok = withToken(reports, token, sim.replayToken);
  return { reports: withTok, report: withTok[0] ?? null, divergence };
}

/** A report without its JavaScript stacks: what a replay with stacks must equal. */
export function withoutStacks(r: Report): Report {
  return JSON.parse(JSON.stringify(r, (key, value: unknown) => (key === "stack" ? undefined : value))) as Report;
}
