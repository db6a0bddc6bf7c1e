/**
 * alloc-in-fence-signalling: a GPU job's completion path allocates memory
 * with GFP_KERNEL before it signals the job's fence.
 *
 * Memory reclaim may wait for fences: a shrinker or an mmu notifier that
 * frees a buffer object's pages waits for the GPU to be done with them. So
 * everything between a job's submission and the signal of its fence (the
 * fence-signalling critical path, annotated with dma_fence_begin_signalling())
 * must not wait for reclaim: a GFP_KERNEL allocation there may enter direct
 * reclaim, which may wait for this very fence. The kernel's fence
 * cross-driver contract says so, and lockdep knows it from boot: fs_reclaim
 * comes before dma_fence_map. Here the scheduler thread's job-done handler
 * allocates a retire record (for the driver's job log) inside the section.
 *
 * Buggy. Step numbers are Sim steps under the round-robin strategy (every
 * order is reported: the other direction is primed at boot):
 *
 *   sched/1 (signals job0)                    waiter/2
 *   1. start; dma_fence_begin_signalling()
 *                                             2. start; dma_fence_wait(job0): blocks
 *   3. kmalloc(GFP_KERNEL): might_alloc()
 *      takes fs_reclaim inside the section:
 *      dma_fence_map -> fs_reclaim, against the
 *      boot order fs_reclaim -> mmu notifier
 *      -> dma_fence_map: lock-order-cycle
 *      (then the same for the mmu notifier map)
 *   4. dma_fence_signal(job0); end the section
 *                                             5. wakes; puts job0
 *
 * Fixed: the record is allocated when the job is set up, before the
 * signalling section begins (as drm_sched drivers allocate at job init, not
 * in run_job or the completion path); inside the section nothing sleeps for
 * memory.
 */
import { DmaFence } from "../dma-buf/dma-fence.js";
import { FenceContext } from "../dma-buf/fence-context.js";
import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from "../kernel/context.js";
import type { Effect } from "../kernel/effect.js";
import { kfree } from "../kernel/heap.js";
import { GFP_KERNEL, kmalloc, type KmallocBuffer } from "../kernel/memory.js";
import type { Sim } from "../kernel/sim.js";
import type { Task } from "../kernel/task.js";
import type { CatalogScenario } from "./scenario.js";

/** The size of a retire record in the driver's job log, in bytes. */
const RECORD_BYTES = 64;

/** The scheduler thread's job-done handler: signals `job`, logs a retire record. */
type JobDone = (job: DmaFence) => Generator<Effect, void, unknown>;

function world(sim: Sim, jobDone: JobDone): void {
  const ring = new FenceContext(sim, "gfx-ring");
  // Made below, before any task runs.
  let job: DmaFence | null = null;
  const fence = (): DmaFence => job as DmaFence;
  const sched: Task = sim.spawn("sched", "process", function* () {
    yield* jobDone(fence());
  });
  sim.spawn("waiter", "process", function* () {
    // Userspace's wait ioctl: holds the only reference, and drops it once the job is done.
    yield* fence().wait(false);
    yield* fence().put();
  });
  // The scheduler thread owes the signal.
  job = new DmaFence(ring, { name: "job0", signaller: sched });
}

/** Put the record on the driver's job log; here the log is only freed again. */
function* retire(record: KmallocBuffer | null): Generator<Effect, void, unknown> {
  if (record !== null) yield* kfree(record);
}

function buggy(sim: Sim): void {
  world(sim, function* (job) {
    const cookie = dmaFenceBeginSignalling();
    // BUG: a GFP_KERNEL allocation may enter reclaim, which may wait for this fence.
    const record = yield* kmalloc(RECORD_BYTES, GFP_KERNEL, { name: "retire-record" });
    yield* job.signal();
    dmaFenceEndSignalling(cookie);
    yield* retire(record);
  });
}

function fixed(sim: Sim): void {
  world(sim, function* (job) {
    // ORDER: allocate before the signalling section, where waiting for reclaim is allowed.
    const record = yield* kmalloc(RECORD_BYTES, GFP_KERNEL, { name: "retire-record" });
    const cookie = dmaFenceBeginSignalling();
    yield* job.signal();
    dmaFenceEndSignalling(cookie);
    yield* retire(record);
  });
}

export const allocInFenceSignalling: CatalogScenario = {
  name: "alloc-in-fence-signalling",
  title: "A job's completion path allocates with GFP_KERNEL before signalling its fence",
  description:
    "Memory reclaim may wait for GPU fences, so the path that signals a fence must never wait for reclaim. " +
    "A job-done handler that allocates with GFP_KERNEL inside its fence-signalling section can enter reclaim " +
    "and wait for its own fence, which lockdep reports against the boot order fs_reclaim before dma_fence_map. " +
    "The fix allocates before the section begins.",
  expect: "lock-order-cycle",
  variants: { buggy, fixed },
};
