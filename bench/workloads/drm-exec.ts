/**
 * drm_exec and the reservation lock, inside one task with every check on:
 * - a drm_exec loop locking 100 objects (prepareObj with one fence slot
 *   each, then fini), loops per second;
 * - dma_resv lock + unlock pairs per second (the reserve + addFence part
 *   joins when the fence list exists).
 * Each run gets its own Lockdep, as the lock workloads do.
 */
import { DmaResv, DrmExec, kfree, Kref, Lockdep, Sim, SimObject, type Effect, type Op } from "../../src/index.js";
import { measure, untargeted, type Entry } from "../harness.js";

const OBJECTS = 100;
const LOOPS = 1_000;
const PAIRS = 200_000;

class Bo extends SimObject {
  readonly refcount: Kref<Bo>;
  readonly resv: DmaResv;

  constructor(sim: Sim, name: string) {
    super(sim, "Bo", { name });
    this.refcount = new Kref(this);
    this.resv = new DmaResv(sim, { embeddedIn: this });
  }

  get(holder?: string): Op<void> {
    return this.refcount.get(holder);
  }

  put(holder?: string): Op<boolean> {
    return this.refcount.put((bo) => kfree(bo), holder);
  }
}

function* execLoops(sim: Sim, bos: readonly Bo[]): Generator<Effect, void, unknown> {
  for (let i = 0; i < LOOPS; i++) {
    const exec = new DrmExec(sim);
    const r = yield* exec.untilAllLocked(function* () {
      yield* exec.prepareArray(bos, 1);
    });
    if (r !== "ok") throw new Error(`drm_exec bench: ${r}`);
    yield* exec.fini();
  }
}

function* resvPairs(resv: DmaResv): Generator<Effect, void, unknown> {
  for (let i = 0; i < PAIRS; i++) {
    yield* resv.lock(null);
    yield* resv.unlock();
  }
}

/** Operations per second of `body`, run as one task in a fresh Sim and lockdep boot. */
function rate(ops: number, build: (sim: Sim) => Generator<Effect, void, unknown>): number {
  const m = measure(
    () => {
      const sim = new Sim({ seed: 1, maxSteps: 1e9, lockdep: new Lockdep() });
      sim.spawn("bench", "process", () => build(sim));
      return sim;
    },
    (sim) => sim.runAll().outcome,
  );
  if (m.result !== "done" || m.state.reports.length !== 0) throw new Error(`drm_exec bench ended with ${m.result}, ${m.state.reports.length} reports`);
  return ops / m.seconds;
}

export function drmExecWorkloads(): Entry[] {
  const loops = rate(LOOPS, (sim) => execLoops(sim, Array.from({ length: OBJECTS }, (_, i) => new Bo(sim, `bo${i}`))));
  const pairs = rate(PAIRS, (sim) => resvPairs(new DmaResv(sim, { static: true })));
  return [
    untargeted(`drm_exec loop locking ${OBJECTS} objects`, [
      { label: "loops", value: loops, unit: "loops/s" },
      { label: "objects", value: loops * OBJECTS, unit: "objects/s" },
    ]),
    untargeted("dma_resv lock/unlock", [{ label: "no context", value: pairs, unit: "pairs/s" }]),
  ];
}
