/**
 * flush-work-under-lock: a work item flushed while holding the lock the
 * work's function takes.
 *
 * A device's hang-recovery work takes `dev->lock` to reset the rings. The
 * driver's teardown path (an ioctl closing the device) takes `dev->lock`,
 * then calls flush_work() so no recovery runs after the rings are gone. If
 * the work is pending when the teardown flushes it, the worker blocks on
 * `dev->lock` and the teardown waits for the worker forever. flushWork()
 * takes the work's lockdep map before it looks at the work (as the kernel's
 * flush_work() does), so lockdep reports the order in every run, whether or
 * not the work happened to be pending.
 *
 * Buggy. Step numbers are Sim steps under the round-robin strategy, an
 * order where the work is still pending at the flush (every order is
 * reported):
 *
 *   irq/1                    close/2                     kworker/u:1/3
 *   1. start
 *                            2. start
 *   3. queue_work(recover)
 *                            4. mutex_lock(dev->lock)
 *                                                        5. start
 *                            6. flush_work(recover):
 *                               dev->lock -> (work_completion)recover;
 *                               blocks: recover is pending
 *                                                        7. picks recover
 *                                                        8. process_one_work:
 *                                                           mutex_lock(dev->lock):
 *                                                           (work_completion)recover
 *                                                           -> dev->lock closes the
 *                                                           cycle: lock-order-cycle;
 *                                                           then blocks: deadlock
 *
 * Fixed: close/2 unlocks `dev->lock` before flushing.
 */
import { Mutex } from "../locking/mutex.js";
import type { Sim } from "../kernel/sim.js";
import { flushWork, Work, Workqueue } from "../kernel/workqueue.js";
import type { CatalogScenario } from "./scenario.js";

function world(sim: Sim): { lock: Mutex; wq: Workqueue; recover: Work } {
  const lock = new Mutex(sim, "dev->lock", { static: true });
  const wq = new Workqueue(sim, "dev_wq", { static: true });
  const recover = new Work(sim, "recover", function* () {
    yield* lock.lock();
    // (reset the rings)
    yield* lock.unlock();
  }, { static: true });
  return { lock, wq, recover };
}

function buggy(sim: Sim): void {
  const { lock, wq, recover } = world(sim);
  sim.spawn("irq", "process", function* () {
    yield* wq.queueWork(recover);
  });
  sim.spawn("close", "process", function* () {
    yield* lock.lock();
    // BUG: the work takes dev->lock; flushing it under dev->lock can wait forever.
    yield* flushWork(recover);
    yield* lock.unlock();
  });
}

function fixed(sim: Sim): void {
  const { lock, wq, recover } = world(sim);
  sim.spawn("irq", "process", function* () {
    yield* wq.queueWork(recover);
  });
  sim.spawn("close", "process", function* () {
    yield* lock.lock();
    yield* lock.unlock();
    // ORDER: flush only once dev->lock is dropped.
    yield* flushWork(recover);
  });
}

export const flushWorkUnderLock: CatalogScenario = {
  name: "flush-work-under-lock",
  title: "A work item is flushed while holding the lock the work takes",
  description:
    "A device's recovery work takes dev->lock, and the teardown path flushes that work while holding dev->lock. " +
    "When the work is pending, the worker blocks on the lock and the teardown waits for the worker forever. " +
    "flush_work() touches the work's lockdep map first, so lockdep reports the order in every run. " +
    "The fix drops dev->lock before flushing.",
  expect: "lock-order-cycle",
  variants: { buggy, fixed },
};
