/**
 * fence-wait-under-lock: a task waits for a GPU job's fence while holding a
 * lock that the job needs before its fence can signal.
 *
 * A VM-unbind ioctl takes `vm->update_lock` and then waits for the VM's last
 * job to finish, so it can tear the mappings down. The scheduler thread that
 * runs that job must first take `vm->update_lock` to make the job's page
 * tables valid; only then does the job run and its fence signal. If the
 * ioctl gets the lock first, each waits for the other forever. The
 * simulation knows which task signals the job's fence (the scheduler thread,
 * named as its signaller when the job was made), so it reports the pair of
 * facts in every run, including the runs where the scheduler happened to be
 * done before the ioctl waited.
 *
 * Buggy. Step numbers are Sim steps under the round-robin strategy, the
 * order that deadlocks (every order is reported):
 *
 *   unbind/1                                  sched/2 (signals job0)
 *   1. start; asks for vm->update_lock
 *                                             2. start; asks for vm->update_lock
 *                                                while job0 is unsignalled
 *   3. takes vm->update_lock;
 *      dma_fence_wait(job0) under it:
 *      fence-wait-deadlock (actual)
 *                                             4. blocks on vm->update_lock
 *   5. blocks in the wait: no task can run, and the deadlock's cycle names
 *      sched/2 as job0's waker.
 *
 * Where sched/2 runs first (lock, unlock, signal) nothing deadlocks, but the
 * report is the same: sched/2 asked for the lock while job0 was unsignalled.
 *
 * Fixed: the ioctl detaches what it needs under the lock, drops the lock,
 * and only then waits for the fence (dma_fence_wait() outside the lock).
 */
import { DmaFence } from "../dma-buf/dma-fence.js";
import { FenceContext } from "../dma-buf/fence-context.js";
import type { Effect } from "../kernel/effect.js";
import type { Sim } from "../kernel/sim.js";
import type { Task } from "../kernel/task.js";
import { Mutex } from "../locking/mutex.js";
import type { CatalogScenario } from "./scenario.js";

/** The unbind ioctl's body, given the VM's lock and the job's fence. */
type Unbind = (vmLock: Mutex, job: DmaFence) => Generator<Effect, void, unknown>;

function world(sim: Sim, unbind: Unbind): void {
  const vmLock = new Mutex(sim, "vm->update_lock", { static: true });
  const ring = new FenceContext(sim, "gfx-ring");
  // Made below, before any task runs.
  let job: DmaFence | null = null;
  const fence = (): DmaFence => job as DmaFence;
  sim.spawn("unbind", "process", function* () {
    yield* unbind(vmLock, fence());
    // The ioctl holds the only reference: the job was its last submission.
    yield* fence().put();
  });
  const sched: Task = sim.spawn("sched", "process", function* () {
    // run_job: the page tables must be valid before the job can run.
    yield* vmLock.lock();
    yield* vmLock.unlock();
    // The job ran; its completion signals the fence.
    // RELIES ON: unbind drops the only reference after its wait returns, so after this
    // signal, the last use of the fence here; until then the borrowed pointer is safe.
    yield* fence().signal();
  });
  // The scheduler thread owes the signal (DmaFence's `signaller`).
  job = new DmaFence(ring, { name: "job0", signaller: sched });
}

function buggy(sim: Sim): void {
  world(sim, function* (vmLock, job) {
    yield* vmLock.lock();
    // BUG: waits for the job under the lock its run_job takes before it can signal.
    yield* job.wait(false);
    // (tear the mappings down)
    yield* vmLock.unlock();
  });
}

function fixed(sim: Sim): void {
  world(sim, function* (vmLock, job) {
    yield* vmLock.lock();
    // (detach the mappings from the VM's tree)
    yield* vmLock.unlock();
    // ORDER: wait only once vm->update_lock is dropped.
    yield* job.wait(false);
    // (free the detached mappings)
  });
}

export const fenceWaitUnderLock: CatalogScenario = {
  name: "fence-wait-under-lock",
  title: "A fence is waited for under a lock its signaller needs",
  description:
    "A VM-unbind ioctl holds vm->update_lock while it waits for the VM's last job, and the scheduler thread " +
    "that signals that job's fence must take vm->update_lock before the job can run. " +
    "The simulation knows who signals each fence, so it reports the pair even in runs where nothing deadlocked. " +
    "The fix drops the lock before waiting.",
  expect: "fence-wait-deadlock",
  variants: { buggy, fixed },
};
