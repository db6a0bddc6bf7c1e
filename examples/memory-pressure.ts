/**
 * docs/memory.md: a memory limit, a shrinker over a cache, and an
 * allocation that reclaims. The third page does not fit; the allocating
 * task runs the shrinker (count, then scan) and gets its page.
 * Run it with `npx tsx examples/memory-pressure.ts`.
 */
import { configureMemory, GFP_KERNEL, kfree, kmalloc, memoryStats, PAGE_SIZE, Shrinker, Sim, type Effect, type KmallocBuffer } from "../src/index.js";

export function main(): string {
  const sim = new Sim({ onReport: "collect" });
  configureMemory(sim, { limitPages: 2 });
  const cache: KmallocBuffer[] = [];
  const log: string[] = [];
  new Shrinker(sim, "cache", {
    countObjects: () => cache.length,
    *scanObjects(sc): Generator<Effect, number, unknown> {
      let freed = 0;
      while (freed < sc.nrToScan && cache.length > 0) {
        yield* kfree(cache.pop() as KmallocBuffer);
        freed++;
      }
      log.push(`shrinker freed ${freed} of ${sc.nrToScan} asked`);
      return freed;
    },
  }).register();
  sim.run(function* () {
    for (let i = 0; i < 2; i++) cache.push((yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer);
    const page = yield* kmalloc(PAGE_SIZE, GFP_KERNEL); // over the limit: direct reclaim
    log.push(`third page: ${page === null ? "-ENOMEM" : "allocated"}`);
    if (page !== null) yield* kfree(page);
  });
  const s = memoryStats(sim);
  log.push(`usage ${s.usageBytes} bytes, ${s.allocations} allocations, ${s.directReclaims} direct reclaim, ${sim.reports.length} reports`);
  return log.join("\n");
}

if (process.argv[1]?.endsWith("memory-pressure.ts") === true) console.log(main());
