/**
 * docs/workqueues.md: a work item uses a buffer that the task which queued
 * it dropped right after queueing. The use-after-free report, filed in the
 * worker, names where the work was queued ("Last potentially related work
 * creation"), as KASAN does. Run it with `npx tsx examples/workqueue-uaf.ts`.
 */
import { flushWork, formatReport, kfree, Kref, Lockdep, Sim, SimObject, Work, Workqueue } from "../src/index.js";

class Bo extends SimObject {
  readonly kref = new Kref<Bo>(this);
  private readonly bytes = 4096;
  get size(): number {
    return this.bytes;
  }
}

export function main(): string {
  const sim = new Sim({ seed: 1, strategy: "round-robin", onReport: "collect", lockdep: new Lockdep() });
  const wq = new Workqueue(sim, "dev_wq", { static: true });
  let dumped = 0;
  sim.run(function* () {
    const bo = new Bo(sim, "Bo", { name: "bo0" });
    const dump = new Work(sim, "dump_bo", function* () {
      dumped += bo.size; // the bug: no reference held for the work
    }, { static: true });
    yield* wq.queueWork(dump);
    yield* bo.kref.put(function* (b) {
      yield* kfree(b);
    });
    yield* flushWork(dump);
  });
  const report = sim.reports[0];
  return report === undefined ? `no report (dumped ${dumped} bytes)` : formatReport(report);
}

if (process.argv[1]?.endsWith("workqueue-uaf.ts") === true) console.log(main());
