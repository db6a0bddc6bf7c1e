/**
 * Lock/unlock pairs per second inside one task, with lockdep off and on:
 * a single mutex, a single spinlock, and a repeated chain of four mutexes
 * (A, B, C, D, then unlocked in reverse). The chain is where lockdep's chain
 * cache earns its keep: after the first pass every acquisition is one lookup.
 * Target: with lockdep on, the chain costs at most 3x what it costs with
 * lockdep off.
 *
 * Each run gets its own Lockdep, so the first pass learns the edges and the
 * rest hit the cache, as a long-running kernel does.
 */
import { Lockdep, Mutex, Sim, SpinLock, type Checks, type Effect } from "../../src/index.js";
import { atMost, measure, targeted, untargeted, type Entry } from "../harness.js";

const PAIRS = 200_000;
const CHAINS = 50_000;
const TARGET_RATIO = 3;

function checks(lockdep: boolean): Partial<Checks> {
  return { lockdep, context: lockdep };
}

function* mutexPairs(m: Mutex): Generator<Effect, void, unknown> {
  for (let i = 0; i < PAIRS; i++) {
    yield* m.lock();
    yield* m.unlock();
  }
}

function* spinPairs(s: SpinLock): Generator<Effect, void, unknown> {
  for (let i = 0; i < PAIRS; i++) {
    yield* s.lock();
    yield* s.unlock();
  }
}

function* chains(locks: readonly Mutex[]): Generator<Effect, void, unknown> {
  for (let i = 0; i < CHAINS; i++) {
    for (const l of locks) yield* l.lock();
    for (let k = locks.length - 1; k >= 0; k--) yield* (locks[k] as Mutex).unlock();
  }
}

/** Operations per second of `body`, run as one task in a fresh Sim and lockdep boot. */
function rate(lockdep: boolean, ops: number, build: (sim: Sim) => Generator<Effect, void, unknown>): number {
  const m = measure(
    () => {
      const sim = new Sim({ seed: 1, maxSteps: 1e9, lockdep: new Lockdep(), checks: checks(lockdep) });
      sim.spawn("locker", "process", () => build(sim));
      return sim;
    },
    (sim) => sim.runAll().outcome,
  );
  if (m.result !== "done" || m.state.reports.length !== 0) throw new Error(`lock bench ended with ${m.result}`);
  return ops / m.seconds;
}

export function lockWorkloads(): Entry[] {
  const mutex = (sim: Sim) => mutexPairs(new Mutex(sim, "bench_mutex"));
  const spin = (sim: Sim) => spinPairs(new SpinLock(sim, "bench_spin"));
  const chain = (sim: Sim) => chains(["A", "B", "C", "D"].map((n) => new Mutex(sim, `chain_${n}`)));
  const mutexOff = rate(false, PAIRS, mutex);
  const mutexOn = rate(true, PAIRS, mutex);
  const spinOff = rate(false, PAIRS, spin);
  const spinOn = rate(true, PAIRS, spin);
  const chainOff = rate(false, CHAINS, chain);
  const chainOn = rate(true, CHAINS, chain);
  return [
    untargeted("mutex lock/unlock", [
      { label: "lockdep off", value: mutexOff, unit: "pairs/s" },
      { label: "lockdep on", value: mutexOn, unit: "pairs/s" },
    ]),
    untargeted("spinlock lock/unlock", [
      { label: "lockdep off", value: spinOff, unit: "pairs/s" },
      { label: "lockdep on", value: spinOn, unit: "pairs/s" },
    ]),
    targeted(
      "chain of 4 mutexes, repeated",
      [
        { label: "lockdep off", value: chainOff, unit: "chains/s" },
        { label: "lockdep on", value: chainOn, unit: "chains/s" },
        // Time per chain with lockdep on over time with it off.
        { label: "cost on / off", value: chainOff / chainOn, unit: "x" },
      ],
      atMost(TARGET_RATIO, "x"),
    ),
  ];
}
