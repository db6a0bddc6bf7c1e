/**
 * Exploration of steps with wide footprints: 3 tasks share 3 objects, and
 * every step writes one of them and reads the other two (one effect whose
 * footprint names three objects, as a library op touching several fields
 * declares with `also`). Every two steps of different tasks are dependent,
 * so the exhaustive search runs every interleaving: (3K)! / (K!)^3
 * executions for K steps per task, and its per-execution race analysis
 * (dfs.ts, reverseRaces) sees three touches per step.
 * Figures: executions per second under random walks and under DFS (optimal
 * DPOR) until exhausted.
 */
import { ACCESS } from "../../src/kernel/access.js";
import { Effect, WRITE } from "../../src/kernel/effect.js";
import { explore, type Scenario } from "../../src/index.js";
import { measure, untargeted, type Entry } from "../harness.js";

/** Steps per task. */
const K = 3;
/** (3K)! / (K!)^3 for K = 3: what an exhaustive search must run. */
const DFS_EXECUTIONS = 1680;
const RANDOM_EXECUTIONS = 4000;

/** Three tasks, each step writing its own object and reading the other two. */
export const threeObjects: Scenario = (sim) => {
  const objects = [sim.share({ v: 0 }), sim.share({ v: 0 }), sim.share({ v: 0 })];
  for (let t = 0; t < 3; t++) {
    const mine = objects[t] as { v: number };
    const a = objects[(t + 1) % 3] as { v: number };
    const b = objects[(t + 2) % 3] as { v: number };
    // One effect per task, reused: effects are immutable once yielded.
    const step = new Effect(ACCESS, null, WRITE, mine, null, Infinity, null, [
      { object: a, mode: "read" },
      { object: b, mode: "read" },
    ]);
    sim.spawn(`t${t}`, "process", function* () {
      for (let i = 0; i < K; i++) {
        yield step;
        mine.v = a.v + b.v + 1;
      }
    });
  }
};

export function dfsWorkloads(): Entry[] {
  const random = measure(
    () => null,
    () => explore(threeObjects, { strategy: "random", executions: RANDOM_EXECUTIONS, stopAtFirst: false }),
  );
  const dfs = measure(
    () => null,
    () => explore(threeObjects, { strategy: "dfs", executions: 1e9, stopAtFirst: false }),
  );
  if (!dfs.result.exhausted || dfs.result.executions !== DFS_EXECUTIONS) {
    throw new Error(`dfs bench: ${dfs.result.executions} executions (exhausted: ${dfs.result.exhausted}), expected ${DFS_EXECUTIONS}`);
  }
  const steps = dfs.result.steps.mean.toFixed(1);
  return [
    untargeted(`explore, 3 tasks x ${K} steps on 3 objects each (${steps} steps/exec)`, [
      { label: "random", value: random.result.executions / random.seconds, unit: "executions/s" },
      { label: `dfs (${DFS_EXECUTIONS} traces)`, value: dfs.result.executions / dfs.seconds, unit: "executions/s" },
    ]),
  ];
}
