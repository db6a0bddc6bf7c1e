/**
 * One execution of a scenario: the Sim it runs in, running it under a
 * strategy, and what of it counts as a failure. Every part of the explorer
 * (the run loop, the shrinker, the deadlock search, replay, the workers)
 * runs executions through here, so they all run them the same way.
 */
import type { Strategy } from "../kernel/scheduler.js";
import { Sim, type Checks } from "../kernel/sim.js";
import { Lockdep } from "../kernel/lockdep.js";
import { fingerprint } from "../report/fingerprint.js";
import type { Report } from "../report/report.js";

/** Builds a world in the given Sim and spawns its tasks; must not run it. */
export type Scenario = (sim: Sim) => void;

/** The name of a scenario in tokens: `name` if given, else the function's name, else "scenario". */
export function scenarioName(scenario: Scenario, name: string | null | undefined): string {
  return name ?? (scenario.name === "" ? "scenario" : scenario.name);
}

/** What "fails the same way" means: built from the report's fields, kind by kind (see report/fingerprint.ts). */
export { fingerprint };

/** @internal A Sim for one execution: reports collected, its own lockdep boot. */
export function newSim(seed: number, maxSteps: number, checks: Partial<Checks> | null | undefined, captureStacks = false): Sim {
  return new Sim({ seed, onReport: "collect", maxSteps, lockdep: new Lockdep(), captureStacks, ...(checks == null ? {} : { checks }) });
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

/** @internal Run the scenario in `sim` under `strategy`. */
export function runOne(scenario: Scenario, sim: Sim, strategy: Strategy): Outcome {
  sim.setStrategy(strategy);
  scenario(sim);
  const outcome = sim.runAll().outcome;
  if (outcome === "done") sim.teardown();
  // A run cut short by the reduction (the only way an explored run stops)
  // repeats an explored schedule: what it found is found there, with a
  // token that replays to the end.
  const reports = outcome === "stopped" ? [] : sim.reports.filter((r) => r.kind !== "step-limit");
  let fp: string | null | undefined;
  return {
    reports,
    // Formatting a report costs: only executions that need it pay.
    get fp() {
      if (fp === undefined) fp = reports[0] === undefined ? null : fingerprint(reports[0]);
      return fp;
    },
    stepBound: outcome === "step-limit",
    // Only failures use the token: made when first read.
    get simToken() {
      return sim.replayToken;
    },
    get trace() {
      return sim.traceHash;
    },
  };
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
