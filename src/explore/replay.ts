/**
 * Replay: re-run one explored execution from its token (src/kernel/token.ts),
 * following its recorded choices, and say where a changed scenario stops
 * following them.
 */
import { ArgumentError } from "../errors.js";
import type { Strategy } from "../kernel/scheduler.js";
import type { Checks, Sim } from "../kernel/sim.js";
import type { Task } from "../kernel/task.js";
import { ChoiceKind, choiceCheck, choiceKind, choiceValue, decodeToken, RecordedChoices } from "../kernel/token.js";
import type { Report } from "../report/report.js";
import { VERSION } from "../version.js";
import { newSim, runOne, withToken, type Scenario } from "./execution.js";
import { DEFAULTS, EXPLORE_OPTIONS, positive } from "./options.js";
import { checkOptions, is, type Spec } from "../validate.js";

/** The rules of replay()'s options. */
const REPLAY_OPTIONS: Spec<ReplayOptions> = { stacks: is.boolean, maxSteps: is.any, checks: EXPLORE_OPTIONS.checks };

/** Where and why a replay stopped following its token. */
export interface Divergence {
  /** The choice (0-based) at which it diverged. */
  readonly choice: number;
  /** The step at which that choice was made. */
  readonly step: number;
  readonly reason: string;
}

/**
 * Follows recorded choices. After a divergence it keeps the run going with
 * the first enabled task (and outcome 0), so the replay still finishes.
 */
export class ReplayStrategy implements Strategy {
  private next = 0;
  divergence: Divergence | null = null;

  private readonly choices: RecordedChoices;

  /** Follow `choices` (packed, as Sim.choices records them) in `sim`. */
  constructor(
    private readonly sim: Sim,
    choices: readonly number[] | RecordedChoices,
  ) {
    this.choices = choices instanceof RecordedChoices ? choices : RecordedChoices.of(choices);
  }

  /** Whether every recorded choice was used. */
  get complete(): boolean {
    return this.next === this.choices.length;
  }

  /** How many recorded choices were used. */
  get used(): number {
    return this.next;
  }

  private take(kind: ChoiceKind, describe: () => string): number | null {
    if (this.divergence !== null) return null;
    const i = this.next;
    const r = this.choices.at(i);
    if (r === undefined) {
      this.diverge(i, `the run makes more choices than the ${this.choices.length} recorded (${describe()})`);
      return null;
    }
    this.next++;
    if (choiceKind(r) !== kind) {
      const [here, there] = kind === ChoiceKind.Pick ? ["choice of task", "choose()"] : ["choose()", "choice of task"];
      this.diverge(i, `a ${here} where the recording has a ${there}`);
      return null;
    }
    if (choiceCheck(r) !== (this.sim.scheduler.hash & 15)) {
      this.diverge(i, `the effects before this choice differ from the recording (${describe()})`);
      return null;
    }
    return choiceValue(r);
  }

  private diverge(choice: number, reason: string): void {
    this.divergence = { choice, step: this.sim.step + 1, reason };
  }

  pick(enabled: readonly Task[], n: number): number {
    const names = () => `enabled: ${enabled.slice(0, n).map((t) => t.label).join(", ")}`;
    const id = this.take(ChoiceKind.Pick, names);
    if (id === null) return 0;
    for (let i = 0; i < n; i++) if ((enabled[i] as Task).id === id) return i;
    this.diverge(this.next - 1, `the recorded task (id ${id}) is not enabled (${names()})`);
    return 0;
  }

  choose(n: number): number {
    const v = this.take(ChoiceKind.Choose, () => `${n} outcomes`);
    if (v === null) return 0;
    if (v >= n) {
      this.diverge(this.next - 1, `the recorded outcome ${v} is out of range (${n} outcomes)`);
      return 0;
    }
    return v;
  }
}

/** What replay() found. */
export interface ReplayResult {
  /** The reports of the replayed execution (with JavaScript stacks at every site, unless `stacks: false`). */
  readonly reports: readonly Report[];
  /** The first of them, or null. */
  readonly report: Report | null;
  /** Where the replay stopped following the token, or null if it followed it to the end. */
  readonly divergence: Divergence | null;
  /** Whether the replay ran to `maxSteps` (cut there, or a livelock found there): another step limit than the explore run's changes where it ends. */
  readonly stepLimit: boolean;
  /** The step limit the replay ran under: `options.maxSteps`, else the token's, else explore()'s default. */
  readonly maxSteps: number;
  /**
   * The step limit the token records (explore()'s default when it records
   * none), when `options.maxSteps` is another: the replay may then end
   * elsewhere than the recorded run. Null when they agree.
   */
  readonly recordedMaxSteps: number | null;
}

/** Options of replay(). */
export interface ReplayOptions {
  /** Record a JavaScript stack at every site (default true). */
  readonly stacks?: boolean;
  /** As in explore(). Default: the limit the token records (tokens record any but the default of 10,000). */
  readonly maxSteps?: number;
  /** As in explore(); must match the run that made the token. */
  readonly checks?: Partial<Checks>;
}

/**
 * Replay one execution from its token. If the scenario changed since, the
 * result says at which choice and step the replay diverged, and why.
 *
 * @throws ArgumentError naming `scenario` if it is not a function, or if it
 *   returns a promise or spawns no task (see explore()).
 * @throws ArgumentError naming `options` or the option at fault (unknown
 *   key, `stacks` not a boolean, `checks.*` not booleans);
 *   ArgumentRangeError naming `maxSteps`.
 * @throws TokenError (an ArgumentError naming `token`) if `token` is not an explorer token.
 * @throws ArgumentRangeError naming `maxSteps` if it is not a positive integer.
 */
export function replay(scenario: Scenario, token: string, options: ReplayOptions = {}): ReplayResult {
  if (typeof scenario !== "function") throw new ArgumentError("scenario", "must be a function (sim) => void");
  checkOptions("options", options, REPLAY_OPTIONS);
  const data = decodeToken(token);
  const recorded = data.maxSteps ?? DEFAULTS.maxSteps;
  const maxSteps = positive("maxSteps", options.maxSteps, recorded);
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
  return {
    reports: withTok,
    report: withTok[0] ?? null,
    divergence,
    stepLimit: sim.step >= maxSteps,
    maxSteps,
    recordedMaxSteps: maxSteps === recorded ? null : recorded,
  };
}

/** A report without its JavaScript stacks: what a replay with stacks must equal. */
export function withoutStacks(r: Report): Report {
  return JSON.parse(JSON.stringify(r, (key, value: unknown) => (key === "stack" ? undefined : value))) as Report;
}
