/**
 * Reservation objects: lock + reserve a slot + add a fence + unlock per
 * second inside one task (dma_resv_lock, dma_resv_reserve_fences with its
 * list reallocation and kfree_rcu after each unlock's slot reset,
 * dma_resv_add_fence replacing the previous fence of the context, the
 * unlock), with the checks on; fences are signalled and put as they go.
 */
import { DmaFence, DmaResv, FenceContext, Sim, type Effect } from "../../src/index.js";
import { measure, untargeted, type Entry } from "../harness.js";

const ROUNDS = 20_000;

function* rounds(resv: DmaResv, ctx: FenceContext): Generator<Effect, void, unknown> {
  for (let i = 0; i < ROUNDS; i++) {
    const f = new DmaFence(ctx);
    yield* resv.lock(null);
    yield* resv.reserveFences(1);
    yield* resv.addFence(f, "write");
    yield* resv.unlock();
    yield* f.signal();
    yield* f.put();
  }
  yield* resv.fini();
}

function roundsPerSecond(): number {
  const m = measure(
    () => {
      const sim = new Sim({ seed: 1, maxSteps: 1e9 });
      const resv = new DmaResv(sim, { name: "bo.resv", static: true });
      const ctx = new FenceContext(sim, "ring");
      sim.spawn("submit", "process", () => rounds(resv, ctx));
      return sim;
    },
    (sim) => sim.runAll().outcome,
  );
  if (m.result !== "done" || m.state.liveObjects().length !== 0) throw new Error(`resv bench ended with ${m.result}, ${m.state.liveObjects().length} live objects`);
  return ROUNDS / m.seconds;
}

export function resvWorkloads(): Entry[] {
  return [untargeted("resv lock + reserve + add fence + unlock, checks on", [{ label: "rounds", value: roundsPerSecond(), unit: "rounds/s" }])];
}
