/**
 * Scheduler throughput: steps per second of 3 tasks that only reschedule,
 * with the op reached through 1, 2 or 4 levels of `yield*`. Driver code
 * wraps ops in helper generators, so the per-level cost is what real
 * scenarios pay on every step.
 */
import { condResched, Sim, type Effect } from "../../src/index.js";
import { atLeast, measure, targeted, untargeted, type Entry, type Figure } from "../harness.js";

const TASKS = 3;
const ITERATIONS = 300_000;
const TARGET_STEPS_PER_SECOND = 5_000_000;

// Static wrappers, not closures made per call: the bench should measure
// delegation, not closure allocation.
function* wrap1(): Generator<Effect, void, unknown> {
  yield* condResched();
}

function* wrap2(): Generator<Effect, void, unknown> {
  yield* wrap1();
}

function* wrap3(): Generator<Effect, void, unknown> {
  yield* wrap2();
}

function* level1(): Generator<Effect, void, unknown> {
  for (let i = 0; i < ITERATIONS; i++) yield* condResched();
}

function* level2(): Generator<Effect, void, unknown> {
  for (let i = 0; i < ITERATIONS; i++) yield* wrap1();
}

function* level4(): Generator<Effect, void, unknown> {
  for (let i = 0; i < ITERATIONS; i++) yield* wrap3();
}

type Body = () => Generator<Effect, void, unknown>;

function stepsPerSecond(body: Body): number {
  const m = measure(
    () => {
      const sim = new Sim({ seed: 1, maxSteps: 1e9 });
      for (let t = 0; t < TASKS; t++) sim.spawn(`spinner${t}`, "process", body);
      return sim;
    },
    (sim) => sim.runAll().outcome,
  );
  if (m.result !== "done") throw new Error(`scheduler bench ended with ${m.result}`);
  return m.state.step / m.seconds;
}

export function schedulerWorkloads(): Entry[] {
  const name = (levels: number): string => `scheduler, ${TASKS} tasks, ${levels} yield* level${levels === 1 ? "" : "s"}`;
  const figure = (value: number): Figure[] => [{ label: "throughput", value, unit: "steps/s" }];
  return [
    targeted(name(1), figure(stepsPerSecond(level1)), atLeast(TARGET_STEPS_PER_SECOND, "steps/s")),
    untargeted(name(2), figure(stepsPerSecond(level2))),
    untargeted(name(4), figure(stepsPerSecond(level4))),
  ];
}
