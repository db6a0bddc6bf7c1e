/**
 * Replay tokens and recorded choices: the one codec.
 *
 * A token is text that reproduces one run. Two forms share one grammar, told
 * apart by the format number after `gpuvm-sim:`:
 *
 *   gpuvm-sim:1:sim:<strategy>:<seed>[@<steps>]
 *       a plain Sim's run (`Sim.replayToken`, option `replay`): the Sim's
 *       own strategy (`random` or `round-robin`), seed, and step limit
 *       when it is not a Sim's default (SIM_DEFAULT_MAX_STEPS).
 *   gpuvm-sim:2:<version>:<scenario>:<strategy>:<seed>[@<steps>]:<trace>:<choices>
 *       an explored execution: the library version that made it, the
 *       scenario's and the strategy's names (URI-component escaped), the
 *       execution's seed, the step limit it ran under when that was not the
 *       explorer's default (`@` and a decimal count; tokens made before the
 *       field existed have none and ran under the default), its final trace
 *       hash, and every choice the scheduler made.
 *
 * A recorded choice is one number: `value * 32 + kind * 16 + check`, where
 * `kind` is ChoiceKind (a pick of a task, whose id is the value, or a
 * `choose()`, whose outcome is the value) and `check` four bits of the trace
 * hash when the choice was made. Values go up to 2^32 (`sim.choose(n)` takes
 * n up to 2^32), so a choice is below 2^38: a safe integer. It is packed and
 * unpacked with arithmetic, never with 32-bit bitwise operators.
 *
 * In a token, choices are base-36 numbers separated by `.`; a run of three
 * or more equal ones is written once as `value*count` (count in base 36).
 *
 * Decoding is bounded: one pass over the text, which may be at most
 * MAX_TOKEN_LENGTH characters; numbers have at most a few digits; runs are
 * kept as runs (RecordedChoices), so a run of 10^12 choices costs nothing
 * before it is rejected, and at most MAX_CHOICES choices are accepted. Any
 * text that is not a token throws a TokenError, never anything else.
 */
import { TokenError } from "../errors.js";

/** One recorded choice's kind: a pick of a task, or a `choose()` outcome. */
export const ChoiceKind = { Pick: 0, Choose: 1 } as const;
export type ChoiceKind = (typeof ChoiceKind)[keyof typeof ChoiceKind];

/** The largest value a recorded choice holds (`sim.choose(n)` takes n up to this). */
export const MAX_CHOICE_VALUE = 2 ** 32;
/** The largest recorded choice: MAX_CHOICE_VALUE with every other bit set. */
export const MAX_CHOICE = MAX_CHOICE_VALUE * 32 + 31;
/** The most choices a token may hold. */
export const MAX_CHOICES = 2 ** 32;
/** The longest token accepted, in characters. */
export const MAX_TOKEN_LENGTH = 16 * 1024 * 1024;
/** The longest scenario or strategy name, once unescaped, and the longest library version. */
export const MAX_NAME_LENGTH = 1024;

/** The format of an explored execution's token. */
export const TOKEN_VERSION = 2;
/** The format of a plain Sim's token. */
export const SIM_TOKEN_VERSION = 1;
const PREFIX = `gpuvm-sim:${TOKEN_VERSION}:`;
const SIM_PREFIX = `gpuvm-sim:${SIM_TOKEN_VERSION}:sim:`;

/**
 * Pack a choice: `value` (an integer in [0, MAX_CHOICE_VALUE]), its kind, and
 * `check` (the trace hash; only its low four bits are kept).
 */
export function packChoice(value: number, kind: ChoiceKind, check: number): number {
  return value * 32 + kind * 16 + (check & 15);
}

/** The value of a packed choice: a task id for a pick, the outcome for a choose(). */
export function choiceValue(c: number): number {
  return Math.floor(c / 32);
}

/** The kind of a packed choice. */
export function choiceKind(c: number): ChoiceKind {
  return Math.floor(c / 16) % 2 === 0 ? ChoiceKind.Pick : ChoiceKind.Choose;
}

/** The four trace-hash bits of a packed choice. */
export function choiceCheck(c: number): number {
  return c % 16;
}

/**
 * Recorded choices read from a token: kept as runs of equal choices, so a
 * long run costs one entry. Read in order (`at(i)` for increasing i is
 * O(1)); `at()` out of order is O(log runs).
 */
export class RecordedChoices implements Iterable<number> {
  /** How many choices. */
  readonly length: number;
  private run = 0;

  /** @internal Use RecordedChoices.of() or decodeToken(). */
  constructor(
    private readonly values: readonly number[],
    /** ends[k]: one past the index of run k's last choice. */
    private readonly ends: readonly number[],
  ) {
    this.length = ends.length === 0 ? 0 : (ends[ends.length - 1] as number);
  }

  /** The choices of an array. */
  static of(choices: readonly number[]): RecordedChoices {
    const values: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < choices.length; i++) {
      const v = choices[i] as number;
      if (values.length > 0 && values[values.length - 1] === v) ends[ends.length - 1] = i + 1;
      else {
        values.push(v);
        ends.push(i + 1);
      }
    }
    return new RecordedChoices(values, ends);
  }

  /** The choice at index `i`, or undefined past the end. */
  at(i: number): number | undefined {
    if (!(i >= 0 && i < this.length)) return undefined;
    const ends = this.ends;
    let k = this.run;
    if (!(i < (ends[k] as number) && (k === 0 || i >= (ends[k - 1] as number)))) {
      let lo = 0;
      let hi = ends.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (i < (ends[mid] as number)) hi = mid;
        else lo = mid + 1;
      }
      k = lo;
      this.run = k;
    }
    return this.values[k];
  }

  /** Every choice, in order (expands the runs: for tokens of a real run, not for any text). */
  *[Symbol.iterator](): Iterator<number> {
    let start = 0;
    for (let k = 0; k < this.values.length; k++) {
      const v = this.values[k] as number;
      const end = this.ends[k] as number;
      for (let i = start; i < end; i++) yield v;
      start = end;
    }
  }

  /** Runs as [value, count] pairs, in order. */
  runs(): [number, number][] {
    const out: [number, number][] = [];
    let start = 0;
    for (let k = 0; k < this.values.length; k++) {
      const end = this.ends[k] as number;
      out.push([this.values[k] as number, end - start]);
      start = end;
    }
    return out;
  }
}

/** What an explored execution's token says. */
export interface TokenData {
  /** The library version that made it (a replay under another version may diverge). */
  readonly version: string;
  readonly scenario: string;
  /** The strategy that found the execution, as the explorer describes it (`pct(3)`, `dfs`). */
  readonly strategy: string;
  /** The execution's seed (a safe integer). */
  readonly seed: number;
  /**
   * The step limit the execution ran under, or null when it was the
   * explorer's default (then the token does not say it). A replay under
   * another limit may end elsewhere.
   */
  readonly maxSteps?: number | null;
  /** The execution's final trace hash (Sim.traceHash, 8 hex digits): catches a change after the last choice. */
  readonly trace: string;
  /** The recorded choices (packed; see packChoice). */
  readonly choices: readonly number[] | RecordedChoices;
}

/** A Sim's step limit when its options give none: a token records any other. */
export const SIM_DEFAULT_MAX_STEPS = 1_000_000;

/** What a plain Sim's token says. */
export interface SimTokenData {
  readonly strategy: "random" | "round-robin";
  readonly seed: number;
  /** The Sim's step limit, or null for SIM_DEFAULT_MAX_STEPS. */
  readonly maxSteps?: number | null;
}

/** Whether `token` is an explored execution's token (format 2), not a plain Sim's; says nothing of the rest. */
export function isExploreToken(token: string): boolean {
  return typeof token === "string" && token.startsWith(PREFIX);
}

/** A plain Sim's token. */
export function encodeSimToken(data: SimTokenData): string {
  const steps = data.maxSteps == null || data.maxSteps === SIM_DEFAULT_MAX_STEPS ? "" : `@${data.maxSteps}`;
  return `${SIM_PREFIX}${data.strategy}:${data.seed}${steps}`;
}

/**
 * Read a plain Sim's token. Throws a TokenError naming `argument` (default
 * `replay`, the Sim's option) if it is not one.
 */
export function decodeSimToken(token: string, argument = "replay"): SimTokenData & { readonly maxSteps: number | null } {
  const bad = (why: string): never => {
    throw new TokenError(argument, why, token);
  };
  if (typeof token !== "string") return bad("it is not a string");
  if (token.length > 64 || !token.startsWith(SIM_PREFIX)) return bad(`it must start with ${SIM_PREFIX}`);
  const [strategy = "", seed = "", ...rest] = token.slice(SIM_PREFIX.length).split(":");
  if (rest.length !== 0) bad("too many fields");
  if (strategy !== "random" && strategy !== "round-robin") bad('the strategy must be "random" or "round-robin"');
  const [seedText, maxSteps] = readSeedAndSteps(seed, bad);
  return { strategy: strategy as SimTokenData["strategy"], seed: readSeed(seedText, bad), maxSteps };
}

/** An explored execution's token. `choices` must be packed choices (see packChoice). */
export function encodeToken(data: TokenData): string {
  const parts: string[] = [];
  const runs = data.choices instanceof RecordedChoices ? data.choices.runs() : RecordedChoices.of(data.choices).runs();
  for (const [v, run] of runs) {
    const text = v.toString(36);
    parts.push(run >= 3 ? `${text}*${run.toString(36)}` : run === 2 ? `${text}.${text}` : text);
  }
  const steps = data.maxSteps == null ? "" : `@${data.maxSteps}`;
  return `${PREFIX}${data.version}:${encodeURIComponent(data.scenario)}:${encodeURIComponent(data.strategy)}:${data.seed}${steps}:${data.trace}:${parts.join(".")}`;
}

/**
 * Read an explored execution's token, in one pass over its text. Throws a
 * TokenError naming `argument` (default `token`) for anything that is not
 * such a token: another prefix, a field too many or too few, a seed that is
 * not a decimal safe integer, a step limit that is not a positive decimal
 * safe integer, a trace that is not 8 hex digits, a bad escape
 * in a name, a choice that is not a base-36 number up to MAX_CHOICE, a run
 * count of 0 or more than MAX_CHOICES in all, or text longer than
 * MAX_TOKEN_LENGTH.
 */
export function decodeToken(token: string, argument = "token"): TokenData & { readonly choices: RecordedChoices; readonly maxSteps: number | null } {
  const bad = (why: string): never => {
    throw new TokenError(argument, why, token, "explore token");
  };
  if (typeof token !== "string") return bad("it is not a string");
  if (token.length > MAX_TOKEN_LENGTH) bad(`it is longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!token.startsWith(PREFIX)) bad(`it must start with ${PREFIX}`);
  // Six fields after the format: the last (the choices) holds no ':'.
  const fields: string[] = [];
  let at = PREFIX.length;
  for (let k = 0; k < 5; k++) {
    const colon = token.indexOf(":", at);
    if (colon < 0) bad("it must have six fields after the format version");
    fields.push(token.slice(at, colon));
    at = colon + 1;
  }
  if (token.includes(":", at)) bad("it has more than six fields after the format version");
  const [version = "", scenario = "", strategy = "", seedText = "", trace = ""] = fields;
  if (version.length === 0 || version.length > MAX_NAME_LENGTH || !/^[0-9A-Za-z.+-]+$/.test(version)) bad("the library version is not a version");
  const name = (text: string, what: string): string => {
    if (text.length > 3 * MAX_NAME_LENGTH) bad(`the ${what} is too long`);
    let s = "";
    try {
      s = decodeURIComponent(text);
    } catch {
      bad(`the ${what} has a bad %-escape`);
    }
    if (s.length > MAX_NAME_LENGTH) bad(`the ${what} is too long`);
    return s;
  };
  const scenarioName = name(scenario, "scenario name");
  const strategyName = name(strategy, "strategy name");
  const [seedOnly, maxSteps] = readSeedAndSteps(seedText, bad);
  const seed = readSeed(seedOnly, bad);
  if (!/^[0-9a-f]{8}$/.test(trace)) bad("the trace hash is not 8 hex digits");
  return { version, scenario: scenarioName, strategy: strategyName, seed, maxSteps, trace, choices: readChoices(token, at, bad) };
}

/** Split `<seed>[@<steps>]`: the seed's text, and the step limit (a positive decimal safe integer) or null. */
function readSeedAndSteps(text: string, bad: (why: string) => never): [string, number | null] {
  const atSign = text.indexOf("@");
  if (atSign < 0) return [text, null];
  const steps = text.slice(atSign + 1);
  if (!/^[1-9][0-9]{0,15}$/.test(steps) || !Number.isSafeInteger(Number(steps))) bad("the step limit is not a positive decimal integer");
  return [text.slice(0, atSign), Number(steps)];
}

/** A decimal safe integer: `0` or an optional `-` and digits without a leading zero. */
function readSeed(text: string, bad: (why: string) => never): number {
  if (!/^(0|-?[1-9][0-9]{0,15})$/.test(text)) bad("the seed is not a decimal integer");
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) bad("the seed is not a safe integer");
  return seed;
}

const DOT = 46;
const STAR = 42;
/** Base-36 digits: at most 8 for a choice (MAX_CHOICE < 36^8), 7 for a count (MAX_CHOICES < 36^7). */
const VALUE_DIGITS = 8;
const COUNT_DIGITS = 7;

/** The digit's value in base 36 (lower case only), or -1. */
function digit36(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  return -1;
}

/** The choices field, from `start` to the end of `token`. */
function readChoices(token: string, start: number, bad: (why: string) => never): RecordedChoices {
  const values: number[] = [];
  const ends: number[] = [];
  const n = token.length;
  if (start === n) return new RecordedChoices(values, ends);
  let total = 0;
  let i = start;
  // One number of at most `max` digits starting at i; advances i.
  const number = (max: number, what: string): number => {
    let v = 0;
    let digits = 0;
    for (; i < n; i++) {
      const d = digit36(token.charCodeAt(i));
      if (d < 0) break;
      if (++digits > max) bad(`a ${what} at character ${i} has more than ${max} digits`);
      v = v * 36 + d;
    }
    if (digits === 0) bad(`expected a base-36 ${what} at character ${i}`);
    return v;
  };
  for (;;) {
    const value = number(VALUE_DIGITS, "choice");
    if (value > MAX_CHOICE) bad(`a choice before character ${i} is above ${MAX_CHOICE}`);
    let count = 1;
    if (i < n && token.charCodeAt(i) === STAR) {
      i++;
      count = number(COUNT_DIGITS, "run length");
      if (count < 1) bad(`a run length of 0 before character ${i}`);
    }
    total += count;
    if (total > MAX_CHOICES) bad(`more than ${MAX_CHOICES} choices`);
    if (values.length > 0 && values[values.length - 1] === value) ends[ends.length - 1] = total;
    else {
      values.push(value);
      ends.push(total);
    }
    if (i === n) break;
    if (token.charCodeAt(i) !== DOT) bad(`unexpected character at ${i} in the choices`);
    i++;
    if (i === n) bad("the choices end with '.'");
  }
  return new RecordedChoices(values, ends);
}
