/**
 * One execution of a scenario: the Sim it runs in, running it under a
 * strategy, and what of it counts as a failure. Every part of the explorer
 * (the run loop, the shrinker, the deadlock search, replay, the workers)
 * runs executions through here, so they all run them the same way.
 */
import type { Strategy } from "../kernel/scheduler.js";
import { Sim, type Checks, type SimOptions } from "../kernel/sim.js";
import { Lockdep } from "../kernel/lockdep.js";
import { fingerprint } from "../report/fingerprint.js";
import type { Report } from "../report/report.js";
import { ArgumentError } from "../errors.js";
import { MAX_NAME_LENGTH } from "../kernel/token.js";

/** Builds a world in the given Sim and spawns its tasks; must not run it. */
export type Scenario = (sim: Sim) => void;

/** Lone surrogates replaced by U+FFFD (String.prototype.toWellFormed, Node 20). */
function wellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}

/**
 * Why `name` cannot be a scenario name in a token, or null if it can: it
 * must be a non-empty string of well-formed UTF-16 (no lone surrogate), at
 * most MAX_NAME_LENGTH (1,024) code units long, whose %-escaped form is at
 * most 3 x MAX_NAME_LENGTH characters (what replay() reads back).
 */
export function tokenNameProblem(name: string): string | null {
  if (name === "") return "must be a non-empty string";
  if (wellFormed(name) !== name) return "must be well-formed UTF-16 (it holds a lone surrogate)";
  if (name.length > MAX_NAME_LENGTH || encodeURIComponent(name).length > 3 * MAX_NAME_LENGTH) {
    return `must be at most ${MAX_NAME_LENGTH} characters (${3 * MAX_NAME_LENGTH} once %-escaped), got ${name.length}`;
  }
  return null;
}

/**
 * A function's own name made fit for a token: read without letting a
 * throwing `name` getter out; "scenario" when it is not a non-empty string;
 * lone surrogates replaced by U+FFFD; cut at a code point so it fits (see
 * {@link tokenNameProblem}).
 */
export function functionName(f: unknown): string {
  let raw: unknown;
  try {
    raw = (f as { name?: unknown }).name;
  } catch {
    return "scenario";
  }
  if (typeof raw !== "string" || raw === "") return "scenario";
  let name = wellFormed(raw);
  if (tokenNameProblem(name) === null) return name;
  let cut = "";
  for (const ch of name) {
    if (tokenNameProblem(cut + ch) !== null) break;
    cut += ch;
  }
  name = cut;
  return name === "" ? "scenario" : name;
}

/**
 * The name of a scenario in tokens: `name` if given (explore() checked it
 * with {@link tokenNameProblem}), else the function's name made fit
 * ({@link functionName}), else "scenario".
 */
export function scenarioName(scenario: Scenario, name: string | null | undefined): string {
  return name ?? functionName(scenario);
}

/** What "fails the same way" means: built from the report's fields, kind by kind (see report/fingerprint.ts). */
export { fingerprint };

/**
 * @internal What a run of executions, one after another, reuses from one
 * execution's Sim in the next: a lockdep boot, rebooted for each
 * (Lockdep.reboot()), instead of priming a new boot each time (most of an
 * execution's set-up), and the last Sim's trace ring and scratch; that Sim is retired
 * (Sim.retire()) so that nothing it held outlives it. Whoever uses it must
 * be done with the previous Sim (its run, its outcome, its choices and
 * reports) before asking newSim() for the next.
 */
export class Reuse {
  readonly lockdep = new Lockdep();
  /** @internal The last Sim made with it. */
  last: Sim | null = null;
}

/** @internal A Sim for one execution: reports collected, a fresh lockdep boot (see Reuse). */
export function newSim(
  seed: number,
  maxSteps: number,
  checks: Partial<Checks> | null | undefined,
  captureStacks = false,
  reuse: Reuse | null = null,
): Sim {
  if (reuse === null) {
    return new Sim({ seed, onReport: "collect", maxSteps, lockdep: new Lockdep(), captureStacks, ...(checks == null ? {} : { checks }) });
  }
  reuse.lockdep.reboot();
  const last = reuse.last;
  last?.retire();
  // One options object, no spreads: this runs once per execution.
  const options: { -readonly [K in keyof SimOptions]: SimOptions[K] } = { seed, onReport: "collect", maxSteps, lockdep: reuse.lockdep, captureStacks };
  if (checks != null) options.checks = checks;
  if (last !== null) options.retired = last;
  const sim = new Sim(options);
  reuse.last = sim;
  return sim;
}

/** @internal What one execution left: the reports that count as failures, and what its token needs. */
export interface Outcome {
  readonly reports: Report[];
  /** The first report's fingerprint (computed when first read), or null if the execution filed none. */
  readonly fp: string | null;
  readonly stepBound: boolean;
  /** The execution's own Sim token, which the explorer's token replaces in reports. */
  readonly simToken: string;
  /** The final trace hash. */
  readonly trace: string;
}

/**
 * An execution's Outcome. A class, not an object literal with getters: each
 * evaluation of a literal with accessors gives the object a map of its own
 * (its descriptors hold that object's closures), and the transition tree of
 * old-space maps then keeps every execution's Sim alive through scavenges
 * until a full collection; measured: most of the young generation survived
 * each scavenge and was promoted.
 */
class ExecutionOutcome implements Outcome {
  private fpMemo: string | null | undefined = undefined;

  constructor(
    private readonly sim: Sim,
    readonly reports: Report[],
    readonly stepBound: boolean,
  ) {}

  // Formatting a report costs: only executions that need it pay.
  get fp(): string | null {
    if (this.fpMemo === undefined) this.fpMemo = this.reports[0] === undefined ? null : fingerprint(this.reports[0]);
    return this.fpMemo;
  }

  // Only failures use the token: made when first read.
  get simToken(): string {
    return this.sim.replayToken;
  }

  get trace(): string {
    return this.sim.traceHash;
  }
}

/** No reports: shared by the executions that filed none (nothing appends to an Outcome's reports). */
const NO_REPORTS = Object.freeze([]) as unknown as Report[];

/**
 * @internal Build the scenario's world in `sim` (call it), and check that it
 * is a scenario: it returned no promise (an async scenario would spawn its
 * tasks after the run, which would then pass having run nothing) and spawned
 * at least one task. Every explorer runs its executions through here, so
 * each refuses such a scenario at its first execution, before a step runs.
 *
 * @throws ArgumentError naming `scenario`.
 */
export function setUp(scenario: Scenario, sim: Sim): void {
  // A Scenario's type says void; what an async one returns is what is checked here.
  // eslint-disable-next-line @typescript-eslint/no-confusing-void-expression
  const returned: unknown = scenario(sim);
  if (typeof returned === "object" && returned !== null && typeof (returned as { then?: unknown }).then === "function") {
    // Whatever it rejects with later is the same mistake: do not let it surface as an unhandled rejection.
    (returned as Promise<unknown>).then(undefined, () => undefined);
    throw new ArgumentError("scenario", "returned a promise: a scenario must be a plain (not async) function that builds the world and spawns its tasks synchronously");
  }
  if (sim.tasks.length === 0) {
    throw new ArgumentError("scenario", "spawned no task: a scenario must spawn the tasks to explore (sim.spawn(name, context, function* () { ... }))");
  }
}

/** @internal Run the scenario in `sim` under `strategy`; `record` false: keep no choices (see Sim.setStrategy()). */
export function runOne(scenario: Scenario, sim: Sim, strategy: Strategy, record = true): Outcome {
  sim.setStrategy(strategy, record);
  setUp(scenario, sim);
  const outcome = sim.runOutcome();
  if (outcome === "done") sim.teardown();
  // A run cut short by the reduction (the only way an explored run stops)
  // repeats an explored schedule: what it found is found there, with a
  // token that replays to the end.
  const reports = outcome === "stopped" || sim.reports.length === 0 ? NO_REPORTS : sim.reports.filter((r) => r.kind !== "step-limit");
  return new ExecutionOutcome(sim, reports, outcome === "step-limit");
}

/**
 * @internal The reports with the explorer's token in place of the
 * execution's own Sim token, wherever it appears (the report's replay line,
 * lockdep witnesses).
 */
export function withToken(reports: readonly Report[], token: string, simToken: string): Report[] {
  return reports.map(
    (r) => JSON.parse(JSON.stringify(r, (key, value: unknown) => (key === "replay" && value === simToken ? token : value))) as Report,
  );
}
