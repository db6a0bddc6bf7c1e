/**
 * Allocations per second with a registered shrinker under pressure: one
 * task allocates page-sized buffers into a cache against a 64-page limit;
 * every allocation past the limit runs direct reclaim, whose shrinker frees
 * cached buffers (count, then scan in batches). A second row allocates
 * without a limit, for the cost of the accounting alone.
 */
import { configureMemory, GFP_KERNEL, kfree, kmalloc, memoryStats, PAGE_SIZE, Shrinker, Sim, type Effect, type KmallocBuffer } from "../../src/index.js";
import { measure, untargeted, type Entry } from "../harness.js";

const ALLOCS = 100_000;
const LIMIT_PAGES = 64;

function world(limited: boolean): { sim: Sim; cache: KmallocBuffer[] } {
  const sim = new Sim({ seed: 1, maxSteps: 1e9 });
  if (limited) configureMemory(sim, { limitPages: LIMIT_PAGES });
  const cache: KmallocBuffer[] = [];
  new Shrinker(sim, "cache", {
    countObjects: () => cache.length,
    *scanObjects(sc): Generator<Effect, number, unknown> {
      let freed = 0;
      while (freed < sc.nrToScan && cache.length > 0) {
        yield* kfree(cache.shift() as KmallocBuffer);
        freed++;
      }
      return freed;
    },
    // Free a quarter of the cache per reclaim: scan freeable * 4 / seeks = freeable / 4, in one batch.
    seeks: 16,
    batch: LIMIT_PAGES / 4,
  }).register();
  sim.spawn("alloc", "process", function* () {
    for (let i = 0; i < ALLOCS; i++) {
      const b = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
      if (b === null) throw new Error("allocation failed under the bench's pressure");
      cache.push(b);
      if (!limited && cache.length > LIMIT_PAGES) yield* kfree(cache.shift() as KmallocBuffer);
    }
    for (const b of cache.splice(0)) yield* kfree(b);
  });
  return { sim, cache };
}

function allocsPerSecond(limited: boolean): { rate: number; reclaims: number } {
  const m = measure(
    () => world(limited),
    ({ sim }) => sim.runAll().outcome,
  );
  if (m.result !== "done") throw new Error(`memory bench ended with ${m.result}`);
  return { rate: ALLOCS / m.seconds, reclaims: memoryStats(m.state.sim).directReclaims };
}

export function memoryWorkloads(): Entry[] {
  const pressure = allocsPerSecond(true);
  const free = allocsPerSecond(false);
  return [
    untargeted(`kmalloc under pressure (${LIMIT_PAGES}-page limit, shrinker)`, [
      { label: "allocations", value: pressure.rate, unit: "allocs/s" },
      { label: "direct reclaims", value: pressure.reclaims, unit: "runs" },
    ]),
    untargeted("kmalloc without a limit", [{ label: "allocations", value: free.rate, unit: "allocs/s" }]),
  ];
}
