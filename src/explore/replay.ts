/**
 * Replay tokens and the strategy that follows one.
 *
 * A token names everything one explored execution depends on: the token
 * format version, the library version, the scenario, the strategy that found
 * it, the execution's seed, its final trace hash, and every choice the
 * scheduler made, each with four bits of the trace hash at that moment. Replaying follows the choices; when the scenario has
 * changed, the first choice whose task is not enabled, whose kind differs, or
 * whose trace bits differ says where and why the replay diverged.
 *
 *   gpuvm-sim:2:<library version>:<scenario>:<strategy>:<seed>:<trace>:<choices>
 *
 * Choices are base-36 numbers separated by `.`, a run of equal ones written
 * once with `*count`.
 */
import { ArgumentError } from "../errors.js";
import type { Strategy } from "../kernel/scheduler.js";
import type { Sim } from "../kernel/sim.js";
import type { Task } from "../kernel/task.js";

export const TOKEN_VERSION = 2;
const PREFIX = `gpuvm-sim:${TOKEN_VERSION}:`;

/** What a token says. */
export interface TokenData {
  /** The library version that made it (a replay under another version may diverge). */
  readonly version: string;
  readonly scenario: string;
  /** The strategy that found the execution, as the explorer describes it (`pct(3)`, `dfs`). */
  readonly strategy: string;
  readonly seed: number;
  /** The execution's final trace hash (Sim.traceHash): catches a change after the last choice. */
  readonly trace: string;
  /** The recorded choices (see Scheduler.choices). */
  readonly choices: readonly number[];
}

/** Whether `token` is an explorer replay token (not a plain Sim's). */
export function isExploreToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

export function encodeToken(data: TokenData): string {
  const parts: string[] = [];
  const cs = data.choices;
  for (let i = 0; i < cs.length; ) {
    const v = cs[i] as number;
    let j = i + 1;
    while (j < cs.length && cs[j] === v) j++;
    const run = j - i;
    parts.push(run >= 3 ? `${v.toString(36)}*${run.toString(36)}` : Array<string>(run).fill(v.toString(36)).join("."));
    i = j;
  }
  return `${PREFIX}${data.version}:${encodeURIComponent(data.scenario)}:${encodeURIComponent(data.strategy)}:${data.seed}:${data.trace}:${parts.join(".")}`;
}

export function decodeToken(token: string): TokenData {
  const bad = (why: string): never => {
    throw new ArgumentError("token", `not a gpuvm-sim explore token (${why}): ${token}`);
  };
  if (typeof token !== "string" || !token.startsWith(PREFIX)) bad(`it must start with ${PREFIX}`);
  const fields = token.slice(PREFIX.length).split(":");
  if (fields.length !== 6) bad("it must have six fields after the format version");
  const [version = "", scenario = "", strategy = "", seedText = "", trace = "", choiceText = ""] = fields;
  if (!/^[0-9a-f]{8}$/.test(trace)) bad("the trace hash is not 8 hex digits");
  const seed = Number(seedText);
  if (!Number.isSafeInteger(seed)) bad("the seed is not an integer");
  const choices: number[] = [];
  if (choiceText !== "") {
    for (const part of choiceText.split(".")) {
      const [v, n] = part.split("*");
      const value = parseInt(v ?? "", 36);
      const count = n === undefined ? 1 : parseInt(n, 36);
      if (!Number.isSafeInteger(value) || !Number.isSafeInteger(count) || count < 1) bad(`bad choice ${part}`);
      for (let k = 0; k < count; k++) choices.push(value);
    }
  }
  return { version, scenario: decodeURIComponent(scenario), strategy: decodeURIComponent(strategy), seed, trace, choices };
}

/** Where and why a replay stopped following its token. */
export interface Divergence {
  /** The choice (0-based) at which it diverged. */
  readonly choice: number;
  /** The step at which that choice was made. */
  readonly step: number;
  readonly reason: string;
}

const PICK = 0;

/**
 * Follows recorded choices. After a divergence it keeps the run going with
 * the first enabled task (and outcome 0), so the replay still finishes.
 */
export class ReplayStrategy implements Strategy {
  private next = 0;
  divergence: Divergence | null = null;

  constructor(
    private readonly sim: Sim,
    private readonly choices: readonly number[],
  ) {}

  /** Whether every recorded choice was used. */
  get complete(): boolean {
    return this.next === this.choices.length;
  }

  /** How many recorded choices were used. */
  get used(): number {
    return this.next;
  }

  private take(kind: number, describe: () => string): number | null {
    if (this.divergence !== null) return null;
    const i = this.next;
    const r = this.choices[i];
    if (r === undefined) {
      this.diverge(i, `the run makes more choices than the ${this.choices.length} recorded (${describe()})`);
      return null;
    }
    this.next++;
    if (((r >> 4) & 1) !== kind) {
      this.diverge(i, `a ${kind === PICK ? "choice of task" : "choose()"} where the recording has a ${kind === PICK ? "choose()" : "choice of task"}`);
      return null;
    }
    if ((r & 15) !== (this.sim.scheduler.hash & 15)) {
      this.diverge(i, `the effects before this choice differ from the recording (${describe()})`);
      return null;
    }
    return r >> 5;
  }

  private diverge(choice: number, reason: string): void {
    this.divergence = { choice, step: this.sim.step + 1, reason };
  }

  pick(enabled: readonly Task[], n: number): number {
    const names = () => `enabled: ${enabled.slice(0, n).map((t) => t.label).join(", ")}`;
    const id = this.take(PICK, names);
    if (id === null) return 0;
    for (let i = 0; i < n; i++) if ((enabled[i] as Task).id === id) return i;
    this.diverge(this.next - 1, `the recorded task (id ${id}) is not enabled (${names()})`);
    return 0;
  }

  choose(n: number): number {
    const v = this.take(1, () => `${n} outcomes`);
    if (v === null) return 0;
    if (v >= n) {
      this.diverge(this.next - 1, `the recorded outcome ${v} is out of range (${n} outcomes)`);
      return 0;
    }
    return v;
  }
}
