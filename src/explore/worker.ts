/**
 * The worker side of parallel exploration: what one worker thread of the
 * pool (pool.ts) runs, the tasks of protocol.ts.
 *
 * A worker never sees a scenario function: it imports the scenario by module
 * path and export name (load.ts), and runs executions by index exactly as
 * explore() runs execution i in-process, because it asks the same plan
 * (search.ts) for the same things: the index's seed, which search runs it,
 * and that search's strategy. For PCT the pool hands in the longest
 * execution before the span (it depends on the executions before i).
 * Running an execution and making a Failure are execution.ts's and
 * failure.ts's, as for explore(); test/explore/pool.test.ts checks that both
 * give identical results.
 */
import { UsageError } from "../errors.js";
import { newSim, Reuse, runOne, scenarioName, type Scenario } from "./execution.js";
import { explore } from "./explore.js";
import { makeFailure, type Failure, type FailureContext } from "./failure.js";
import { loadScenario } from "./load.js";
import {
  LOWEST_FAILURE,
  LOWEST_SURE_FAILURE,
  publishMin,
  RUN_END,
  STOP,
  toWorkerError,
  type DfsCandidate,
  type DfsOutcome,
  type DfsTask,
  type ExecRecord,
  type FailureTask,
  type RunPlan,
  type SpanTask,
  type WorkerReply,
  type WorkerTask,
} from "./protocol.js";
import { ExplorePlan, pctBound, type Search } from "./search.js";

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** One random or PCT execution, as explore() runs it, with PCT's estimate `longest` steps. */
function runIndexed(scenario: Scenario, run: RunPlan, plan: ExplorePlan, i: number, member: Search, reuse: Reuse | null = null) {
  const sim = newSim(plan.seedOf(i), run.options.maxSteps, run.options.checks, false, reuse);
  const next = member.next(i, sim);
  if (next === null) throw new UsageError(`internal: the ${plan.label} search has no execution ${i}`);
  // In a span (reuse given) a random walk's choices are not recorded:
  // runFailure() runs a failing one again, recording.
  const outcome = runOne(scenario, sim, next.strategy, reuse === null || next.kind !== "random");
  const record: ExecRecord = { index: i, kind: next.kind, steps: sim.step, stepBound: outcome.stepBound, bound: next.bound, fp: outcome.fp, pruned: 0 };
  return { record, sim, outcome, label: next.label };
}

/** A PCT member whose estimate is `longest` steps (what explore() would have seen before the index). */
function pctWith(plan: ExplorePlan, longest: number): Search {
  const pct = plan.member("pct");
  pct.ran(longest);
  return pct;
}

function runSpan(scenario: Scenario, t: SpanTask): ExecRecord[] {
  const { plan: run, shared } = t;
  const plan = new ExplorePlan(run.options);
  const random = plan.member("random");
  const existing = new Map<number, readonly [number, number, number, number]>();
  for (const e of t.existing) existing.set(e[0], e);
  const out: ExecRecord[] = [];
  let max = t.startMax;
  // One boot, rebooted for each execution (see newSim()).
  const reuse = new Reuse();
  for (let i = t.from; i < t.to; i++) {
    const kind = plan.kindAt(i, t.dfsEnd);
    if (kind === null) continue;
    const have = existing.get(i);
    if (kind === "dfs") {
      // Another task runs it; its length still counts towards PCT's estimate.
      if (have !== undefined) max = Math.max(max, have[1]);
      continue;
    }
    if (now() > run.deadline || Atomics.load(shared, STOP) !== 0 || i >= Atomics.load(shared, RUN_END)) break;
    if (t.stopAtShared && run.options.stopAtFirst && Atomics.load(shared, LOWEST_FAILURE) < i) break;
    if (have !== undefined && (kind !== "pct" || have[2] === pctBound(max))) {
      max = Math.max(max, have[1]);
      if (have[3] === 1 && run.options.stopAtFirst) break;
      continue;
    }
    const { record } = runIndexed(scenario, run, plan, i, kind === "pct" ? pctWith(plan, max) : random, reuse);
    out.push(record);
    max = Math.max(max, record.steps);
    if (record.fp !== null) {
      publishMin(shared, LOWEST_FAILURE, i);
      if (kind === "random") publishMin(shared, LOWEST_SURE_FAILURE, i);
      if (run.options.stopAtFirst) break;
    }
  }
  return out;
}

function runDfs(scenario: Scenario, t: DfsTask): DfsOutcome {
  const { plan: run, shared } = t;
  const plan = new ExplorePlan(run.options);
  const search = plan.member("dfs");
  const records: ExecRecord[] = [];
  const candidates: DfsCandidate[] = [];
  const seen = new Set<string>();
  // Infinity: the search went through the budget without running out.
  let end: number | null = Infinity;
  const reuse = new Reuse();
  for (const i of plan.dfsIndices()) {
    // Nothing after a failure that is certain to stand can matter.
    if (now() > run.deadline || Atomics.load(shared, STOP) !== 0 || (run.options.stopAtFirst && Atomics.load(shared, LOWEST_SURE_FAILURE) < i)) {
      end = null;
      break;
    }
    const sim = newSim(plan.seedOf(i), run.options.maxSteps, run.options.checks, false, reuse);
    const next = search.next(i, sim);
    if (next === null) {
      end = i;
      break;
    }
    const prunedBefore = search.pruned;
    const outcome = runOne(scenario, sim, next.strategy);
    const fp = outcome.fp;
    records.push({ index: i, kind: "dfs", steps: sim.step, stepBound: outcome.stepBound, bound: 0, fp, pruned: search.pruned - prunedBefore });
    if (fp === null) continue;
    publishMin(shared, LOWEST_FAILURE, i);
    publishMin(shared, LOWEST_SURE_FAILURE, i);
    if (!seen.has(fp)) {
      seen.add(fp);
      candidates.push({ index: i, choices: [...sim.choices], reports: outcome.reports, simToken: outcome.simToken, trace: outcome.trace });
    }
    if (run.options.stopAtFirst) {
      end = null;
      break;
    }
  }
  return { records, candidates, end, truncated: end !== null && end !== Infinity && !search.exhausted };
}

function runFailure(scenario: Scenario, t: FailureTask): Failure {
  const { plan: run, record } = t;
  const plan = new ExplorePlan(run.options);
  const ctx = (label: string): FailureContext => ({
    name: scenarioName(scenario, run.options.name),
    label,
    execSeed: plan.seedOf(record.index),
    index: record.index,
    maxSteps: run.options.maxSteps,
    checks: run.options.checks,
    shrink: run.options.shrink,
  });
  if (record.kind === "dfs") {
    const c = t.candidate;
    if (c === null) throw new UsageError(`internal: DFS execution ${record.index} failed but its choices were not kept`);
    return makeFailure(scenario, ctx(plan.labelOf("dfs")), {
      choices: c.choices,
      outcome: { reports: [...c.reports], simToken: c.simToken, trace: c.trace, fp: record.fp },
    });
  }
  // Random and PCT executions depend only on their index (and PCT's bound): run it again.
  const member = record.kind === "pct" ? pctWith(plan, record.bound) : plan.member("random");
  const again = runIndexed(scenario, run, plan, record.index, member);
  if (again.record.fp !== record.fp) {
    throw new UsageError(
      `the scenario is not deterministic: execution ${record.index} failed as "${record.fp ?? "nothing"}" and, run again, as "${again.record.fp ?? "nothing"}" ` +
        "(scenarios must not depend on anything but the Sim)",
    );
  }
  return makeFailure(scenario, ctx(again.label), { choices: again.sim.choices, outcome: again.outcome });
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
