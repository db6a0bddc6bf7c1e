/**
 * docs/workqueues.md: a driver flushes its cleanup work while holding the
 * lock the work takes. In this run the work finished long before, so nothing
 * deadlocks and flushWork() returns false, but lockdep still reports the
 * order: flushWork() takes the work's lockdep map before it looks.
 * Run it with `npx tsx examples/workqueue-flush.ts`.
 */
import { condResched, flushWork, formatReport, Lockdep, Mutex, Sim, Work, Workqueue } from "../src/index.js";

export function main(): string {
  const sim = new Sim({ seed: 1, strategy: "round-robin", onReport: "collect", lockdep: new Lockdep() });
  const lock = new Mutex(sim, "dev->lock", { static: true });
  const wq = new Workqueue(sim, "dev_wq", { static: true });
  const cleanup = new Work(sim, "cleanup", function* () {
    yield* lock.lock();
    yield* lock.unlock();
  }, { static: true });
  sim.run(function* () {
    yield* wq.queueWork(cleanup);
    while (cleanup.isPending() || cleanup.isRunning()) yield* condResched();
    yield* lock.lock();
    yield* flushWork(cleanup); // the bug: flush after unlocking instead
    yield* lock.unlock();
  });
  const report = sim.reports[0];
  return report === undefined ? "no report" : formatReport(report);
}

if (process.argv[1]?.endsWith("workqueue-flush.ts") === true) console.log(main());
