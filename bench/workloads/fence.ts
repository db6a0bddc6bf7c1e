/**
 * Fences created, signalled and put per second inside one task (dma_fence_init,
 * dma_fence_signal, the last dma_fence_put and its kfree), with the checks on
 * and off; and the same with one callback per fence, and with the signaller
 * taking a mutex while it owes the fence (the exact-wait-edge bookkeeping on
 * every lock it asks for).
 */
import { DmaFence, FenceContext, Mutex, Sim, type Checks, type Effect } from "../../src/index.js";
import { measure, untargeted, type Entry } from "../harness.js";

const FENCES = 100_000;
const CHECKS_OFF: Checks = { lifetimes: false, refcounts: false, deadlock: false, unstartedOps: false, lockdep: false, context: false, footprint: false };

type Body = (sim: Sim, ctx: FenceContext, lock: Mutex) => Generator<Effect, void, unknown>;

function* plain(_sim: Sim, ctx: FenceContext): Generator<Effect, void, unknown> {
  for (let i = 0; i < FENCES; i++) {
    const f = new DmaFence(ctx);
    yield* f.signal();
    yield* f.put();
  }
}

const noop = (): undefined => undefined;

function* withCallback(_sim: Sim, ctx: FenceContext): Generator<Effect, void, unknown> {
  for (let i = 0; i < FENCES; i++) {
    const f = new DmaFence(ctx);
    yield* f.addCallback(noop);
    yield* f.signal();
    yield* f.put();
  }
}

function* lockWhileOwed(_sim: Sim, ctx: FenceContext, lock: Mutex): Generator<Effect, void, unknown> {
  for (let i = 0; i < FENCES; i++) {
    const f = new DmaFence(ctx);
    yield* lock.lock();
    yield* lock.unlock();
    yield* f.signal();
    yield* f.put();
  }
}

function fencesPerSecond(checksOn: boolean, body: Body): number {
  const m = measure(
    () => {
      const sim = new Sim(checksOn ? { seed: 1, maxSteps: 1e9 } : { seed: 1, maxSteps: 1e9, checks: CHECKS_OFF });
      const ctx = new FenceContext(sim, "ring");
      const lock = new Mutex(sim, "ring->lock", { static: true });
      sim.spawn("fences", "process", () => body(sim, ctx, lock));
      return sim;
    },
    (sim) => sim.runAll().outcome,
  );
  if (m.result !== "done" || m.state.liveObjects().length !== 0) throw new Error(`fence bench ended with ${m.result}, ${m.state.liveObjects().length} live objects`);
  return FENCES / m.seconds;
}

export function fenceWorkloads(): Entry[] {
  return [
    untargeted("fence create/signal/put, checks on", [{ label: "fences", value: fencesPerSecond(true, plain), unit: "fences/s" }]),
    untargeted("fence create/signal/put, checks off", [{ label: "fences", value: fencesPerSecond(false, plain), unit: "fences/s" }]),
    untargeted("fence create/add callback/signal/put, checks on", [{ label: "fences", value: fencesPerSecond(true, withCallback), unit: "fences/s" }]),
    untargeted("fence create/lock+unlock/signal/put, checks on", [{ label: "fences", value: fencesPerSecond(true, lockWhileOwed), unit: "fences/s" }]),
  ];
}
