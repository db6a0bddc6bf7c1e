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
 * comes before dma_fence_map. Here the scheduler thread, having published a
 * job's fence, allocates a retire record (for the driver's job log) in its
 * job-done path, inside the section.
 *
 * Buggy. Step numbers are Sim steps under the round-robin strategy (every
 * order is reported: the other direction is primed at boot):
 *
 *   sched/1 (makes and signals job0)          waiter/2
 *   1. start; new DmaFence(job0)
 *   2. dma_fence_get(job0) for the waiter,
 *      spawns it: job0 is published;
 *      dma_fence_begin_signalling()
 *                                             3. start; dma_fence_wait(job0): blocks
 *   4. kmalloc(GFP_KERNEL): might_alloc()
 *      takes fs_reclaim inside the section:
 *      dma_fence_map -> fs_reclaim, against the
 *      boot order fs_reclaim -> mmu notifier
 *      -> dma_fence_map: lock-order-cycle
 *      (then the same for the mmu notifier map)
 *   5. dma_fence_signal(job0); end the section
 *                                             6. wakes; dma_fence_put(job0)
 *
 * Fixed: the record is allocated before the fence is made and published (as
 * drm_sched drivers allocate what completion needs at job init, not in
 * run_job or the completion path); inside the signalling path nothing waits
 * for memory. The kernel's fence cross-driver contract allows only
 * GFP_ATOMIC there, which may fail.
 */
import { DmaFence } from "../dma-buf/dma-fence.js";
import { FenceContext } from "../dma-buf/fence-context.js";
import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from "../kernel/context.js";
import type { Effect } from "../kernel/effect.js";
import { kfree } from "../kernel/heap.js";
import { GFP_KERNEL, kmalloc, type KmallocBuffer } from "../kernel/memory.js";
import type { Sim } from "../kernel/sim.js";
import type { CatalogScenario } from "./scenario.js";

/** The size of a retire record in the driver's job log, in bytes. */
const RECORD_BYTES = 64;

/** Put the record on the driver's job log; here the log is only freed again. */
function* retire(record: KmallocBuffer | null): Generator<Effect, void, unknown> {
  if (record !== null) yield* kfree(record);
}

/**
 * Publish `job`: userspace's wait ioctl gets a reference of its own and
 * waits for the job in a task of its own. From here on, the job's fence is
 * visible to others, so what it takes to signal it is the signalling path.
 */
function* publish(sim: Sim, job: DmaFence): Generator<Effect, void, unknown> {
  yield* job.get("waiter");
  sim.spawn("waiter", "process", function* () {
    yield* job.wait(false);
    yield* job.put("waiter");
  });
}

function buggy(sim: Sim): void {
  const ring = new FenceContext(sim, "gfx-ring");
  sim.spawn("sched", "process", function* () {
    // The scheduler thread makes the job's fence: it owes the signal.
    const job = new DmaFence(ring, { name: "job0", holder: "sched" });
    yield* publish(sim, job);
    const cookie = dmaFenceBeginSignalling();
    // (the job runs; its completion interrupt wakes this thread)
    // BUG: a GFP_KERNEL allocation may enter reclaim, which may wait for this fence.
    const record = yield* kmalloc(RECORD_BYTES, GFP_KERNEL, { name: "retire-record" });
    yield* job.signal();
    dmaFenceEndSignalling(cookie);
    yield* job.put("sched");
    yield* retire(record);
  });
}

function fixed(sim: Sim): void {
  const ring = new FenceContext(sim, "gfx-ring");
  sim.spawn("sched", "process", function* () {
    // ORDER: allocate before the fence is published, where waiting for reclaim is allowed.
    const record = yield* kmalloc(RECORD_BYTES, GFP_KERNEL, { name: "retire-record" });
    const job = new DmaFence(ring, { name: "job0", holder: "sched" });
    yield* publish(sim, job);
    const cookie = dmaFenceBeginSignalling();
    yield* job.signal();
    dmaFenceEndSignalling(cookie);
    yield* job.put("sched");
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
    "The fix allocates before the fence is published.",
  expect: "lock-order-cycle",
  variants: { buggy, fixed },
};
