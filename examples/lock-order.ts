/**
 * docs/locking.md: two paths take a VM's lock and a BO's lock in opposite
 * orders. They never overlap in this run, so nothing deadlocks, but lockdep
 * reports the order that could. Run it with `npx tsx examples/lock-order.ts`.
 */
import { condResched, formatReport, Lockdep, Mutex, Sim, SimObject } from "../src/index.js";

class Vm extends SimObject {
  readonly updateLock = new Mutex(this.sim, "vm->update_lock", { embeddedIn: this });
}

class Bo extends SimObject {
  // Every BO's lock is one lockdep class: the class name, not the instance.
  readonly lock = new Mutex(this.sim, "bo->lock", { embeddedIn: this });
}

export function main(): string {
  // A fresh lockdep boot, so the example does not depend on what ran before.
  const sim = new Sim({ seed: 1, strategy: "round-robin", onReport: "collect", lockdep: new Lockdep() });
  const vm = new Vm(sim, "Vm", { name: "vm0" });
  const bo = new Bo(sim, "Bo", { name: "bo0" });
  const bind = sim.spawn("bind", "process", function* () {
    yield* vm.updateLock.lock();
    yield* bo.lock.lock(); // vm->update_lock, then bo->lock
    yield* bo.lock.unlock();
    yield* vm.updateLock.unlock();
  });
  sim.spawn("evict", "worker", function* () {
    while (bind.state !== "done") yield* condResched();
    yield* bo.lock.lock();
    yield* vm.updateLock.lock(); // bo->lock, then vm->update_lock: the other order
    yield* vm.updateLock.unlock();
    yield* bo.lock.unlock();
  });
  sim.runAll();
  const report = sim.reports[0];
  return report === undefined ? "no report" : formatReport(report);
}

if (process.argv[1]?.endsWith("lock-order.ts") === true) console.log(main());
