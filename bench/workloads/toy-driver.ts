/**
 * The toy driver (issue 11): executions per second of the exploration of
 * examples/toy-driver's workload (two processes binding, executing and
 * closing, eviction under a 22-page limit, a userptr unmapped while it is
 * pinned), random walks and PCT, 40 executions each, stopping at nothing
 * (the correct driver files no report). Also steps per execution. No
 * target.
 */
import { explore, type ExploreResult } from "../../src/index.js";
import { toyWorkload } from "../../examples/toy-driver/workload.js";
import { measure, untargeted, type Entry } from "../harness.js";

const EXECUTIONS = 40;

function figures(strategy: "random" | "pct"): Entry {
  const m = measure(
    () => null,
    () => explore(toyWorkload(), { name: "toy-driver", strategy, executions: EXECUTIONS, seed: 1, shrink: false, stopAtFirst: false }),
    3,
  );
  const r: ExploreResult = m.result;
  if (r.failed > 0) throw new Error(`toy-driver bench: the correct driver failed ${r.failed} executions`);
  return untargeted(`toy driver: explore, ${strategy}, ${EXECUTIONS} executions`, [
    { label: "executions", value: r.executions / m.seconds, unit: "executions/s" },
    { label: "steps per execution", value: r.steps.mean, unit: "steps" },
  ]);
}

export function toyDriverWorkloads(): Entry[] {
  return [figures("random"), figures("pct")];
}
