/**
 * explore(): run a scenario many times under a search, in this thread.
 *
 * A scenario builds a fresh world in the Sim it is given and spawns its
 * tasks; explore() runs it once per execution, each in a new Sim with its own
 * seed (derived from the run's seed and the execution's index) and a fresh
 * lockdep boot, so every execution, and every failure, replays alone. Which
 * strategy runs each execution comes from the run's plan (search.ts):
 * `random` walks, `pct` (probabilistic concurrency testing), `dfs`
 * (exhaustive, with partial-order reduction and optional bounds), and
 * `portfolio` (the default: random, PCT and DFS in turn).
 *
 * A failure is an execution that filed a report (hitting the step limit is
 * counted, not a failure; a livelock is one). Failures are told apart by a
 * fingerprint (built from the report's fields: see report/fingerprint.ts); the first of each is
 * shrunk and given a replay token (failure.ts).
 */
import { ArgumentError, UsageError } from "../errors.js";
import { newSim, Reuse, runOne, scenarioName, type Scenario } from "./execution.js";
import { makeFailure, type Failure } from "./failure.js";
import { resolveOptions, type ExploreOptions } from "./options.js";
import { ExplorePlan } from "./search.js";
import { RandomWalk } from "./strategy/random.js";

export type { Scenario } from "./execution.js";
export type { Failure } from "./failure.js";
export type { ExploreOptions, ExploreStrategy } from "./options.js";

/** What explore() found, and how the run went. */
export interface ExploreResult {
  /** The strategy run, as tokens name it (`portfolio`, `random`, `pct(3)`, `dfs-pb2`). */
  readonly strategy: string;
  /** The run's seed. */
  readonly seed: number;
  readonly executions: number;
  /** Executions that filed a report. */
  readonly failed: number;
  readonly failures: readonly Failure[];
  /** Steps per execution. */
  readonly steps: { readonly min: number; readonly mean: number; readonly max: number };
  /** Executions that hit `maxSteps` without a livelock. */
  readonly stepBoundHits: number;
  /** DFS executions cut short by the reduction (they repeated an explored schedule). */
  readonly pruned: number;
  /** Whether DFS explored every schedule (within its bounds). */
  readonly exhausted: boolean;
  /**
   * Why the run stopped: `failure` (stopAtFirst), `executions`, `time`,
   * `exhausted` (DFS ran every schedule to its end), or `step-bound` (DFS ran
   * out of schedules, but some executions reached `maxSteps`, so what lies
   * beyond them was not explored: raise `maxSteps` for a proof).
   */
  readonly stoppedBy: "failure" | "executions" | "time" | "exhausted" | "step-bound";
  /** Wall-clock time of the run, in milliseconds. */
  readonly timeMs: number;
}

/**
 * Explore the interleavings of `scenario`. Returns statistics and the
 * failures found; never throws for a failure (use the Vitest matchers, or
 * check `failures`).
 *
 * @throws ArgumentError naming `scenario` if it is not a function, or, at
 *   the first execution before any step runs, if it returns a promise (an
 *   async scenario) or spawns no task; naming `options` when it is not an
 *   object; naming the option at fault (ArgumentError or
 *   ArgumentRangeError) for a bad or unknown option (`strategy.depth`,
 *   `checks.lifetimes`, `stopAtFirst`...).
 */
export function explore(scenario: Scenario, options: ExploreOptions = {}): ExploreResult {
  if (typeof scenario !== "function") throw new ArgumentError("scenario", "must be a function (sim) => void");
  const plan = new ExplorePlan(resolveOptions(options));
  const { budget, maxSteps, timeMs, stopAtFirst, checks } = plan.options;
  const name = scenarioName(scenario, plan.options.name);
  const search = plan.search();
  const failures: Failure[] = [];
  const seen = new Set<string>();
  let executions = 0;
  let failed = 0;
  let stepBoundHits = 0;
  let minSteps = Infinity;
  let maxSeen = 0;
  let totalSteps = 0;
  let stoppedBy: ExploreResult["stoppedBy"] = "executions";
  // One boot, rebooted for each execution (see newSim()).
  const reuse = new Reuse();
  const start = performance.now();

  for (let i = 0; i < budget; i++) {
    if (performance.now() - start > timeMs) {
      stoppedBy = "time";
      break;
    }
    // Every schedule (and every outcome of every injected choice) was run:
    // nothing is left to find.
    if (search.exhausted) {
      stoppedBy = "exhausted";
      break;
    }
    if (!search.runs(i)) continue;
    const execSeed = plan.seedOf(i);
    const sim = newSim(execSeed, maxSteps, checks, false, reuse);
    const next = search.next(i, sim);
    if (next === null) {
      // DFS ran out of schedules: a proof only if no execution was cut by the step limit.
      stoppedBy = proven(search) ? "exhausted" : "step-bound";
      break;
    }
    // A random walk depends on its seed alone (RandomSearch): its choices,
    // which only a failure needs, are not recorded (about 1 KB of array
    // growth per execution); a failure's walk is run again to record them.
    const random = next.kind === "random";
    const outcome = runOne(scenario, sim, next.strategy, !random);
    search.ran(sim.step);
    executions++;
    totalSteps += sim.step;
    minSteps = Math.min(minSteps, sim.step);
    maxSeen = Math.max(maxSeen, sim.step);
    if (outcome.stepBound) stepBoundHits++;
    const fp = outcome.fp;
    if (fp === null) continue;
    failed++;
    if (seen.has(fp)) continue;
    seen.add(fp);
    const ctx = { name, label: next.label, execSeed, index: i, maxSteps, checks, shrink: plan.options.shrink };
    if (random) {
      const again = newSim(execSeed, maxSteps, checks);
      const repeated = runOne(scenario, again, new RandomWalk(execSeed));
      if (repeated.fp !== fp) {
        // As the pool's workers say it when they run a failure again.
        throw new UsageError(
          `the scenario is not deterministic: execution ${i} failed as "${fp}" and, run again, as "${repeated.fp ?? "nothing"}" ` +
            "(scenarios must not depend on anything but the Sim)",
        );
      }
      failures.push(makeFailure(scenario, ctx, { choices: again.choices, outcome: repeated }));
    } else {
      failures.push(makeFailure(scenario, ctx, { choices: sim.choices, outcome }));
    }
    if (stopAtFirst) {
      stoppedBy = "failure";
      break;
    }
  }
  return {
    strategy: plan.label,
    seed: plan.options.seed,
    executions,
    failed,
    failures,
    steps: { min: executions === 0 ? 0 : minSteps, mean: executions === 0 ? 0 : totalSteps / executions, max: maxSeen },
    stepBoundHits,
    pruned: search.pruned,
    exhausted: search.exhausted,
    stoppedBy,
    timeMs: performance.now() - start,
  };
}

/** Whether the search ran every schedule to its end (read after it ran out, which may change it). */
function proven(search: { readonly exhausted: boolean }): boolean {
  return search.exhausted;
}
