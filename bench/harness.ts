/**
 * Bench harness: result types, timing, and the target helpers shared by the
 * workloads in bench/workloads/.
 *
 * Real time is allowed here (never in src/): the simulator itself stays
 * deterministic, only the wall-clock cost of running it is measured.
 */

/** One measured number of a workload. */
export interface Figure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
}

/** What a workload should reach, as the issue states it. */
export interface Target {
  /** `>= 5 M steps/s`: how the table shows it. */
  readonly description: string;
  readonly value: number;
  /** The unit of the figure the target applies to. */
  readonly unit: string;
}

/** One row group of the table and one element of results.json `workloads`. */
export interface Entry {
  readonly name: string;
  readonly figures: readonly Figure[];
  readonly target: Target | null;
  /** Whether the target was met; null without a target. */
  readonly met: boolean | null;
}

/** The result of timing one function several times. */
export interface Measurement<S, R> {
  /** Median of the timed runs, in seconds. */
  readonly seconds: number;
  /** Every timed run, in seconds, in run order. */
  readonly samples: readonly number[];
  /** The state and result of the last timed run. */
  readonly state: S;
  readonly result: R;
}

export const DEFAULT_RUNS = 5;

/**
 * Time `run(setup())`: one untimed warm-up so the JIT has compiled the hot
 * path, then `runs` timed runs; returns the median. `setup` is not timed,
 * and a full GC runs between setup and timing (with `--expose-gc`) so
 * garbage from the previous run is not collected on this run's clock.
 */
export function measure<S, R>(setup: () => S, run: (state: S) => R, runs = DEFAULT_RUNS): Measurement<S, R> {
  if (runs < 1) throw new Error("measure: runs must be >= 1");
  sink(run(setup()));
  const samples: number[] = [];
  let last: { state: S; result: R } | null = null;
  for (let i = 0; i < runs; i++) {
    const state = setup();
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    const result = run(state);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9);
    last = { state, result };
  }
  const { state, result } = last as { state: S; result: R };
  return { seconds: median(samples), samples, state, result };
}

/**
 * Time several argument-less functions in alternation (a, b, a, b, …) after
 * one warm-up each, and return each one's median in seconds. Alternating
 * spreads slow drift of the machine (frequency, noisy neighbours) over all
 * of them instead of biasing whichever ran last; use it when the figure of
 * interest is a ratio between them.
 */
export function measureInterleaved(fns: readonly (() => unknown)[], runs = DEFAULT_RUNS): number[] {
  for (const fn of fns) sink(fn());
  const samples = fns.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    fns.forEach((fn, k) => {
      globalThis.gc?.();
      const t0 = process.hrtime.bigint();
      const r = fn();
      (samples[k] as number[]).push(Number(process.hrtime.bigint() - t0) / 1e9);
      sink(r);
    });
  }
  return samples.map(median);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("median of no samples");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

let sunk = 0;

/**
 * Keep a result observable so the JIT cannot drop the computation that made
 * it. `sunkValue()` is printed at the end of the run.
 */
export function sink(value: unknown): void {
  if (typeof value === "number") sunk += value;
  else if (value !== undefined) sunk += 1;
}

export function sunkValue(): number {
  return sunk;
}

/** A target that the figure must reach or exceed. */
export function atLeast(value: number, unit: string): Target {
  return { description: `>= ${formatValue(value, unit, true)}`, value, unit };
}

/** A target that the figure must not exceed. */
export function atMost(value: number, unit: string): Target {
  return { description: `<= ${formatValue(value, unit, true)}`, value, unit };
}

/** An entry without a target. */
export function untargeted(name: string, figures: readonly Figure[]): Entry {
  return { name, figures, target: null, met: null };
}

/**
 * An entry with a target; `met` compares the first figure in the target's
 * unit against it, in the direction the target's description says.
 */
export function targeted(name: string, figures: readonly Figure[], target: Target): Entry {
  const f = figures.find((x) => x.unit === target.unit);
  if (f === undefined) throw new Error(`${name}: no figure in ${target.unit} for the target`);
  const met = target.description.startsWith(">=") ? f.value >= target.value : f.value <= target.value;
  return { name, figures, target, met };
}

/**
 * `7.12 M steps/s`, `1.23 ns/call`, `12.3 %`: a value with the precision its
 * unit deserves. `compact` drops trailing zeros (`5 M`), for targets.
 */
export function formatValue(value: number, unit: string, compact = false): string {
  const digits = (x: number, n: number): string => (compact ? String(Number(x.toFixed(n))) : x.toFixed(n));
  if (unit.endsWith("/s")) return `${si(value, compact)} ${unit}`;
  if (unit === "%") return `${digits(value, 1)} %`;
  if (unit === "x") return `${digits(value, 2)} x`;
  return `${digits(value, 2)} ${unit}`;
}

function si(v: number, compact: boolean): string {
  const a = Math.abs(v);
  const [scaled, prefix] = a >= 1e9 ? [v / 1e9, " G"] : a >= 1e6 ? [v / 1e6, " M"] : a >= 1e3 ? [v / 1e3, " k"] : [v, ""];
  const text = scaled.toPrecision(3);
  return (compact ? String(Number(text)) : text) + prefix;
}
