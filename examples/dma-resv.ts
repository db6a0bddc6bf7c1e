/**
 * docs/dma-resv.md: a submit adds its job's fence to a buffer's
 * reservation object; a reader waits for the buffer's writes without the
 * lock; the buffer's release finalises the resv. Then the classic bug: a
 * fence added after relocking without reserving a slot again. Run it with
 * `npx tsx examples/dma-resv.ts`.
 */
import { Completion, DmaFence, DmaResv, FenceContext, Lockdep, msleep, Sim, type Effect } from "../src/index.js";

function* submit(resv: DmaResv, job: DmaFence, reserve: boolean): Generator<Effect, void, unknown> {
  yield* resv.lock(null);
  if (reserve && (yield* resv.reserveFences(1)) !== "ok") {
    yield* resv.unlock();
    return; // -ENOMEM: nothing was added
  }
  yield* resv.addFence(job, "write");
  yield* resv.unlock();
}

export function main(): string {
  const out: string[] = [];
  for (const reserve of [true, false]) {
    const sim = new Sim({ lockdep: new Lockdep(), onReport: "collect" });
    const resv = new DmaResv(sim, { name: "bo0.resv", static: true });
    const ring = new FenceContext(sim, "ring0");
    const readerDone = new Completion(sim, { name: "reader_done", static: true });
    sim.spawn("submit", "process", function* () {
      const job = new DmaFence(ring, { name: "job0" });
      if (!reserve) {
        // Slots reserved under an earlier hold are gone at unlock.
        yield* resv.lock(null);
        yield* resv.reserveFences(1);
        yield* resv.unlock();
      }
      yield* submit(resv, job, reserve);
      sim.spawn("reader", "process", function* () {
        const left = yield* resv.waitTimeout("read", true, 10_000_000);
        out.push(`reserve=${String(reserve)}: reader waited, ${String(left)} ns left, ${resv.numFences} fence(s) listed`);
        yield* readerDone.complete();
      });
      yield* msleep(1); // the job runs for 1 ms
      yield* job.signal();
      yield* job.put();
      // The buffer's release: no reader may be left when dma_resv_fini() runs.
      yield* readerDone.waitForCompletion();
      yield* resv.fini();
    });
    sim.runAll();
    sim.teardown();
    out.push(`reserve=${String(reserve)}: reports: ${sim.reports.map((r) => r.kind).join(", ") || "none"}`);
  }
  return out.join("\n");
}

if (process.argv[1]?.endsWith("dma-resv.ts") === true) console.log(main());
