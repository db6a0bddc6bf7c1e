/**
 * Failures: turning a failing execution into a Failure (shrink its schedule,
 * make its token), and, for a lock-order cycle, looking for an execution
 * where it deadlocks for real.
 */
import { deriveSeed } from "../kernel/prng.js";
import type { Checks } from "../kernel/sim.js";
import { encodeToken } from "../kernel/token.js";
import type { Report } from "../report/report.js";
import { VERSION } from "../version.js";
import { newSim, runOne, withToken, type Outcome, type Scenario } from "./execution.js";
import { DEFAULTS } from "./options.js";
import { GuidedStrategy, shrinkChoices, type Trial } from "./shrink.js";
import { Pct } from "./strategy/pct.js";
import { RandomWalk } from "./strategy/random.js";

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

/** @internal What a failing execution was: enough to run it again and to name it. */
export interface FailureContext {
  /** The scenario's name in tokens. */
  readonly name: string;
  /** The strategy's name in tokens. */
  readonly label: string;
  readonly execSeed: number;
  readonly index: number;
  readonly maxSteps: number;
  readonly checks: Partial<Checks> | null;
  readonly shrink: boolean;
}

/** @internal A failing execution as it ran: its choices and its outcome (`fp` not null). */
export interface Found {
  readonly choices: readonly number[];
  readonly outcome: Pick<Outcome, "reports" | "simToken" | "trace"> & { readonly fp: string | null };
}

/**
 * @internal Shrink a failing execution, make its token, and look for the
 * deadlock behind a lock-order cycle.
 */
export function makeFailure(scenario: Scenario, ctx: FailureContext, found: Found): Failure {
  const fp = found.outcome.fp as string;
  let choices = found.choices;
  let outcome = found.outcome;
  let shrunk: Failure["shrunk"] = null;
  if (ctx.shrink) {
    const trials = new Map<readonly number[], Outcome>();
    const run = (c: readonly number[]): Trial => {
      const sim = newSim(ctx.execSeed, ctx.maxSteps, ctx.checks);
      const guide = new GuidedStrategy(c);
      const o = runOne(scenario, sim, guide);
      const t = { fails: o.fp === fp, choices: [...sim.choices], switches: guide.switches };
      trials.set(t.choices, o);
      return t;
    };
    const original = run(choices);
    const best = shrinkChoices(choices, run);
    const kept = trials.get(best.choices);
    if (best.fails && Number.isFinite(best.switches) && kept !== undefined) {
      choices = best.choices;
      outcome = kept;
      shrunk = { from: original.fails ? original.switches : best.switches, to: best.switches };
    }
  }
  const token = encodeToken({ version: VERSION, scenario: ctx.name, strategy: ctx.label, seed: ctx.execSeed, maxSteps: recordedLimit(ctx), trace: outcome.trace, choices });
  const reports = withToken(outcome.reports, token, outcome.simToken);
  const first = reports[0] as Report;
  return {
    report: first,
    reports,
    token,
    execution: ctx.index,
    strategy: ctx.label,
    fingerprint: fp,
    shrunk,
    deadlock: first.kind === "lock-order-cycle" && !first.actual ? findDeadlock(scenario, ctx) : null,
  };
}

/** The step limit a token records: none for the default, which replay() assumes. */
function recordedLimit(ctx: FailureContext): number | null {
  return ctx.maxSteps === DEFAULTS.maxSteps ? null : ctx.maxSteps;
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
    const token = encodeToken({ version: VERSION, scenario: ctx.name, strategy: pct ? "pct(3)" : "random", seed, maxSteps: recordedLimit(ctx), trace, choices: sim.choices });
    return { token, report: withToken([deadlock], token, simToken)[0] as Report };
  }
  return null;
}
