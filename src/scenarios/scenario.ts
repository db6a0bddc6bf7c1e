/**
 * Catalog scenarios, and a plain seed loop to run them.
 *
 * A scenario builds a world in a fresh Sim (objects, then tasks) and returns
 * without running it; whoever runs it decides how many executions, with
 * which seeds. Every catalog entry comes as a pair: a buggy variant, which
 * must produce a report of the kind it names, and a fixed variant, which must
 * produce none over the whole budget; some add further variants (`more`),
 * each either expecting a kind or expecting to stay clean.
 *
 * `runSeeds` is a plain seed loop: it runs seed after seed with the random
 * scheduler and stops at the first execution that files a report, each run
 * in its own Sim that a test can inspect. `gpuvm-sim demo` uses `explore()`
 * instead (strategies, reduction, shrinking, replay tokens).
 */
import { ArgumentRangeError } from "../errors.js";
import { Sim, type SimOptions } from "../kernel/sim.js";
import { Lockdep } from "../kernel/lockdep.js";
import type { Report, ReportKind } from "../report/report.js";

import type { Scenario } from "../explore/explore.js";

export type { Scenario };

/** The two variants of a catalog scenario. */
export type VariantName = "buggy" | "fixed";

/**
 * A further variant of a catalog scenario, beyond its buggy/fixed pair
 * (another fix, another mode, another way to get it wrong): run by
 * `gpuvm-sim demo` as one more row.
 */
export interface MoreVariant {
  /** Kebab-case, unique within its scenario (`internal-put`); the demo's variant column. */
  readonly name: string;
  /** One line for people. */
  readonly title: string;
  readonly scenario: Scenario;
  /** The kind of the first report it must produce, or null: it must stay clean over the whole budget. */
  readonly expect: ReportKind | null;
}

/** One entry of the built-in catalog. */
export interface CatalogScenario {
  /** Kebab-case id, as the CLI prints it (`uaf-last-reference`). */
  readonly name: string;
  /** One line for people. */
  readonly title: string;
  /** Two to four sentences: the kernel situation and what goes wrong. */
  readonly description: string;
  /** The kind of the first report the buggy variant must produce. */
  readonly expect: ReportKind;
  readonly variants: { readonly buggy: Scenario; readonly fixed: Scenario };
  /** Further variants, in the order the demo runs them after buggy and fixed (default none). */
  readonly more?: readonly MoreVariant[];
}

/** Options for {@link runSeeds}. */
export interface RunSeedsOptions {
  /** How many executions at most, one seed each (default 200). */
  readonly seeds?: number;
  /** The seed of the first execution (default 0); the next ones count up. */
  readonly firstSeed?: number;
  /**
   * The lockdep boot the executions share (default: a fresh one per call),
   * so orders learned by one scenario's runs do not leak into another's.
   */
  readonly lockdep?: Lockdep;
}

/** The first execution of a {@link runSeeds} loop that filed a report. */
export interface SeedFailure {
  /** Its seed: `new Sim({ seed })` (random strategy) replays it. */
  readonly seed: number;
  /** Its index in the loop, from 0 (`seed - firstSeed`). */
  readonly executionIndex: number;
  /** The first report it filed. */
  readonly report: Report;
  /** Every report it filed, in order. */
  readonly reports: readonly Report[];
}

/** What {@link runSeeds} returns. */
export interface SeedRunResult {
  /** Executions run: the whole budget, or up to and including the first failure. */
  readonly executions: number;
  readonly firstFailure: SeedFailure | null;
}

const DEFAULT_SEEDS = 200;

/**
 * Run `scenario` once in a new Sim that collects reports: build the world,
 * run every task to the end, then, if every task did end, run the teardown
 * checks, leaks among them (after a deadlock, what the stuck tasks hold is a
 * consequence, not a second bug). Returns the Sim, whose `reports` say what was found.
 */
export function runOnce(scenario: Scenario, options: Omit<SimOptions, "onReport"> = {}): Sim {
  const sim = new Sim({ ...options, onReport: "collect" });
  scenario(sim);
  if (sim.runAll().outcome === "done") sim.teardown();
  return sim;
}

/**
 * Run `scenario` with seeds `firstSeed`, `firstSeed + 1`, … until one
 * execution files a report or the budget of `seeds` executions is spent.
 *
 * A plain seed loop: see the header of this file.
 */
export function runSeeds(scenario: Scenario, options: RunSeedsOptions = {}): SeedRunResult {
  const budget = options.seeds ?? DEFAULT_SEEDS;
  const firstSeed = options.firstSeed ?? 0;
  if (!Number.isSafeInteger(budget) || budget < 1) {
    throw new ArgumentRangeError("seeds", `must be a positive safe integer, got ${budget}`);
  }
  if (!Number.isSafeInteger(firstSeed) || !Number.isSafeInteger(firstSeed + budget - 1)) {
    throw new ArgumentRangeError("firstSeed", `must be a safe integer, and so must the last seed; got ${firstSeed}`);
  }
  const lockdep = options.lockdep ?? new Lockdep();
  for (let i = 0; i < budget; i++) {
    const seed = firstSeed + i;
    const reports = runOnce(scenario, { seed, lockdep }).reports;
    const report = reports[0];
    if (report !== undefined) {
      return {
        executions: i + 1,
        firstFailure: { seed, executionIndex: i, report, reports: [...reports] }
      };
    }
  }
  return { executions: budget, firstFailure: null };
}
