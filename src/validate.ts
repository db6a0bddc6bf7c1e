/**
 * Argument checks shared by every public entry point.
 *
 * One place decides what a bad argument is and how the error reads, so every
 * layer (this one and the ones still to come) refuses bad input alike:
 *
 * - an options object that is `null`, an array or a primitive is an
 *   ArgumentError naming the argument (`options`, `checks`);
 * - an unknown key is an ArgumentError naming the key and listing the known
 *   ones (and the nearest, when one is near: `checks.lifetime` suggests
 *   `lifetimes`);
 * - each known key's value is checked by its rule ({@link is}); `undefined`
 *   means "not given" and is always accepted.
 *
 * Nothing here changes state, so a caller that validates first and acts
 * after leaves everything as it was when it throws.
 */
import { ArgumentError, ArgumentRangeError } from "./errors.js";

/** A rule for one value: throws an ArgumentError or ArgumentRangeError naming `argument`, else returns. */
export type Rule = (argument: string, value: unknown) => void;

/** The rules of an options object, one per key it may have. */
export type Spec<T> = { readonly [K in keyof T]-?: Rule };

/**
 * How a value reads in an error message: short, and never the value's own
 * (possibly huge or throwing) toString. Never throws: a revoked Proxy, a
 * throwing getter or `instanceof` hook reads as "an object".
 */
export function describeValue(v: unknown): string {
  try {
    return describeUnsafe(v);
  } catch {
    return typeof v === "function" ? "a function" : "an object";
  }
}

function describeUnsafe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case "string":
      return v.length > 40 ? `the string "${v.slice(0, 40)}..."` : `the string "${v}"`;
    case "number":
    case "boolean":
    case "bigint":
      return `${typeof v} ${String(v)}`;
    case "undefined":
      return "undefined";
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default: {
      if (typeof (v as { then?: unknown }).then === "function") return "a promise";
      const proto = Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null;
      const name = proto?.constructor?.name;
      if (typeof name !== "string" || name === "Object" || name === "") return "an object";
      return /^[AEIOU]/i.test(name) ? `an ${name}` : `a ${name}`;
    }
  }
}

/** `v instanceof C`, or false where that throws (a revoked Proxy, a throwing `Symbol.hasInstance`). */
export function isInstance<T>(v: unknown, C: abstract new (...args: never[]) => T): v is T {
  try {
    return v instanceof C;
  } catch {
    return false;
  }
}

/** The longest text {@link thrownText} returns for a name or a message. */
const MAX_THROWN_TEXT = 10_000;

/** `v` if it is a string, cut to {@link MAX_THROWN_TEXT}, else null. */
function textOf(v: unknown): string | null {
  if (typeof v !== "string") return null;
  return v.length > MAX_THROWN_TEXT ? `${v.slice(0, MAX_THROWN_TEXT)}...` : v;
}

/** Read `o[key]`, or undefined if reading throws (a getter, a revoked Proxy). */
function safeGet(o: unknown, key: string): unknown {
  try {
    return (o as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * What a thrown value says, as text, for error output: its name and
 * message (and stack, when it has one). Never throws, whatever was thrown:
 * an Error reads as its `name` and `message`; a string or number as itself
 * (name "thrown value"); anything else (an object without a prototype, one
 * whose getters or toString throw, a revoked Proxy) by
 * {@link describeValue}. Getters are read once each, inside try/catch.
 */
export function thrownText(e: unknown): { name: string; message: string; stack: string | null } {
  if (isInstance(e, Error)) {
    const name = textOf(safeGet(e, "name")) ?? "Error";
    const message = textOf(safeGet(e, "message")) ?? "";
    const stack = textOf(safeGet(e, "stack"));
    return { name, message, stack };
  }
  if (typeof e === "string") return { name: "thrown value", message: textOf(e) ?? "", stack: null };
  if (typeof e === "number" || typeof e === "boolean" || typeof e === "bigint" || e === undefined || e === null) {
    return { name: "thrown value", message: String(e), stack: null };
  }
  return { name: "thrown value", message: describeValue(e), stack: null };
}

/** Levenshtein distance, for suggesting the key a typo meant. Keys are short. */
function distance(a: string, b: string): number {
  const row = Int32Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] ?? 0;
      row[j] = Math.min(up + 1, (row[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length] ?? 0;
}

/**
 * Check that `value` is a plain options object whose keys are all in
 * `spec`, each passing its rule. `undefined` is no options (returns `{}`).
 *
 * Keys are named in errors as `key` when `argument` is `"options"` (the
 * usual last parameter), else as `argument.key` (`checks.lifetimes`).
 *
 * @returns `value`, or a fresh empty object for `undefined`.
 * @throws ArgumentError naming `argument` when `value` is not an object;
 *   naming the key when a key is unknown (the message lists the known keys)
 *   or a value breaks its rule; ArgumentRangeError from a range rule.
 */
export function checkOptions<T extends object>(argument: string, value: T | undefined, spec: Spec<T>): T {
  if (value === undefined) return {} as T;
  if (typeof value !== "object" || (value as object | null) === null || Array.isArray(value)) {
    throw new ArgumentError(argument, `must be an options object, got ${describeValue(value)}`);
  }
  // Allocation-free on the good path (objects are made per execution):
  // no key arrays, no closure; a name is built only for a nested option.
  for (const key in value) {
    if (!Object.hasOwn(value, key) || Object.hasOwn(spec, key)) continue;
    const known = Object.keys(spec);
    let best = "";
    let bestD = Infinity;
    for (const k of known) {
      const d = distance(key, k);
      if (d < bestD) [best, bestD] = [k, d];
    }
    const hint = bestD <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean '${best}'?)` : "";
    throw new ArgumentError(optionPath(argument, key), `unknown option${hint}; known: ${known.join(", ")}`);
  }
  const rules = spec as Record<string, Rule>;
  const values = value as Record<string, unknown>;
  for (const key in rules) {
    if (!Object.hasOwn(rules, key)) continue;
    const v = values[key];
    const rule = rules[key];
    if (v !== undefined && rule !== undefined) rule(optionPath(argument, key), v);
  }
  return value;
}

/** How an error names option `key` of `argument`: the bare key for `options`, else `argument.key`. */
function optionPath(argument: string, key: string): string {
  return argument === "options" ? key : `${argument}.${key}`;
}

/**
 * The longest time argument the simulation accepts, in nanoseconds: 2^52
 * (about 52 days). Half the exact range of a double, so a deadline
 * `now + t` stays an exact integer number of nanoseconds while simulated
 * time is under another 52 days.
 */
export const MAX_NANOSECONDS = 2 ** 52;

/** Rules for {@link checkOptions}, and for single arguments (`is.nanoseconds("deadline", d)`). */
export const is = {
  /** Any value (for an option whose checks live elsewhere, such as a Lockdep instance or a retired Sim). */
  any: ((): void => undefined) as Rule,
  boolean: ((argument, v) => {
    if (typeof v !== "boolean") throw new ArgumentError(argument, `must be true or false, got ${describeValue(v)}`);
  }) as Rule,
  string: ((argument, v) => {
    if (typeof v !== "string") throw new ArgumentError(argument, `must be a string, got ${describeValue(v)}`);
  }) as Rule,
  nonEmptyString: ((argument, v) => {
    if (typeof v !== "string" || v === "") throw new ArgumentError(argument, `must be a non-empty string, got ${describeValue(v)}`);
  }) as Rule,
  function: ((argument, v) => {
    if (typeof v !== "function") throw new ArgumentError(argument, `must be a function, got ${describeValue(v)}`);
  }) as Rule,
  /** A number that is a safe integer (any sign). */
  safeInteger: ((argument, v) => {
    if (typeof v !== "number") throw new ArgumentError(argument, `must be a number, got ${describeValue(v)}`);
    if (!Number.isSafeInteger(v)) throw new ArgumentRangeError(argument, `must be a safe integer, got ${v}`);
  }) as Rule,
  /** A safe integer >= 1. */
  positiveInteger: ((argument, v) => {
    if (typeof v !== "number") throw new ArgumentError(argument, `must be a number, got ${describeValue(v)}`);
    if (!Number.isSafeInteger(v) || v < 1) throw new ArgumentRangeError(argument, `must be a positive integer, got ${v}`);
  }) as Rule,
  /** A safe integer >= 0. */
  count: ((argument, v) => {
    if (typeof v !== "number") throw new ArgumentError(argument, `must be a number, got ${describeValue(v)}`);
    if (!Number.isSafeInteger(v) || v < 0) throw new ArgumentRangeError(argument, `must be an integer >= 0, got ${v}`);
  }) as Rule,
  /**
   * A duration or a point in simulated time, in nanoseconds: a finite number
   * from 0 to {@link MAX_NANOSECONDS}. Fractions are allowed (a timeout of
   * 0.5 ns is odd but harmless).
   */
  nanoseconds: ((argument, v) => {
    if (typeof v !== "number") throw new ArgumentError(argument, `must be a number of nanoseconds, got ${describeValue(v)}`);
    if (!Number.isFinite(v) || v < 0 || v > MAX_NANOSECONDS) {
      throw new ArgumentRangeError(argument, `must be a finite number of nanoseconds from 0 to ${MAX_NANOSECONDS}, got ${v}`);
    }
  }) as Rule,
  /** One of `values` (compared with ===). */
  oneOf(...values: readonly unknown[]): Rule {
    const list = values.map((x) => (typeof x === "string" ? `"${x}"` : String(x))).join(", ");
    return (argument, v) => {
      if (!values.includes(v)) throw new ArgumentError(argument, `must be one of ${list}, got ${describeValue(v)}`);
    };
  },
  /** An instance of `C` (named in the message as `what`, default C's name). */
  instanceOf(C: abstract new (...args: never[]) => unknown, what = `a ${C.name}`): Rule {
    return (argument, v) => {
      if (!(v instanceof C)) throw new ArgumentError(argument, `must be ${what}, got ${describeValue(v)}`);
    };
  },
  /** A nested options object with its own spec (`checks`). */
  options<T extends object>(spec: Spec<T>): Rule {
    return (argument, v) => {
      checkOptions(argument, v as T, spec);
    };
  },
};

/**
 * Check one argument by a rule and return it typed. For positional
 * arguments: `const ms = arg("ms", is.nanoseconds, x)`.
 */
export function arg<T>(argument: string, rule: Rule, value: T): T {
  rule(argument, value);
  return value;
}
