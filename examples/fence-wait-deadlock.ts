/**
 * docs/fences.md: a task waits for a job's fence while holding the VM's
 * lock, and the GPU task that signals that fence takes the same lock first.
 * In this run the GPU task finished before anyone waited, so nothing
 * deadlocked, but the simulation knows who signals the fence and reports the
 * schedule that would. Run it with `npx tsx examples/fence-wait-deadlock.ts`.
 */
import { condResched, DmaFence, FenceContext, formatReport, Lockdep, Mutex, Sim } from "../src/index.js";

export function main(): string {
  const sim = new Sim({ seed: 1, strategy: "round-robin", onReport: "collect", lockdep: new Lockdep() });
  const vmLock = new Mutex(sim, "vm->update_lock");
  const ring = new FenceContext(sim, "gfx-ring");
  sim.run(function* () {
    const job = new DmaFence(ring, { name: "job0" });
    const gpu = sim.spawn("gpu", "process", function* () {
      yield* job.claimSignalling(); // this task signals the fence from now on
      yield* vmLock.lock(); // ...and needs the VM's lock before it does
      yield* vmLock.unlock();
      yield* job.signal();
    });
    while (gpu.state !== "done") yield* condResched();
    yield* vmLock.lock();
    yield* job.wait(false); // waits for the fence under the lock the signaller needs
    yield* vmLock.unlock();
    yield* job.put();
  });
  const report = sim.reports[0];
  return report === undefined ? "no report" : formatReport(report);
}

if (process.argv[1]?.endsWith("fence-wait-deadlock.ts") === true) console.log(main());
