/**
 * The reduction tests' one measure: what an exhaustive DFS reached in a
 * small program, with DPOR or without reduction. A program reports what its
 * tasks saw through `seen`; the failures' kinds join the set. Two searches
 * that reach different sets mean the reduction skipped a schedule (or, the
 * other way round, explored one that cannot happen).
 */
import { expect } from "vitest";
import { explore, type Checks, type Sim } from "../../src/index.js";

/** A program: builds its world and tasks in `sim`, and reports what tasks saw through `seen`. */
export type ReductionProgram = (sim: Sim, seen: (s: string) => void) => void;

/** Limits of one search (defaults: 50,000 executions, every check on). */
export interface ReachedOptions {
  readonly executions?: number;
  readonly checks?: Partial<Checks>;
}

/**
 * What an exhaustive DFS of `build` reached, sorted: every `seen` string and
 * `failure:<kind>` for each failure. Asserts that the search was exhausted.
 */
export function reached(build: ReductionProgram, reduction: "dpor" | "none", options: ReachedOptions = {}): string[] {
  const set = new Set<string>();
  const r = explore(
    (sim) => {
      build(sim, (s) => set.add(s));
    },
    {
      strategy: { name: "dfs", reduction },
      executions: options.executions ?? 50_000,
      stopAtFirst: false,
      shrink: false,
      ...(options.checks === undefined ? {} : { checks: options.checks }),
    },
  );
  expect(r.exhausted).toBe(true);
  for (const f of r.failures) set.add(`failure:${f.report.kind}`);
  return [...set].sort();
}
