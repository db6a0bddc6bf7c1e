/**
 * docs/memory.md: proving that an operation either succeeds or changes
 * nothing. `insert` allocates an entry and its payload; when the payload's
 * allocation fails it unwinds the entry. forEachAllocationFailure runs it
 * cleanly, then once with each of its two allocations failing, and
 * expectUnchangedOnFailure checks every run. It uses Vitest's expect, so it
 * runs inside a test (test/kernel/alloc-failure.test.ts calls it).
 */
import { forEachAllocationFailure, GFP_KERNEL, kfree, kmalloc, KmallocBuffer, memoryStats, Sim, type Effect } from "../src/index.js";
import { expectUnchangedOnFailure } from "../src/vitest.js";

/** The driver's operation: add an entry with a payload to `table`; "nomem" with nothing changed when memory runs out. */
export function* insert(table: KmallocBuffer[]): Generator<Effect, "ok" | "nomem", unknown> {
  const entry = yield* kmalloc(32, GFP_KERNEL, { site: "entry" });
  if (entry === null) return "nomem";
  table.push(entry);
  const payload = yield* kmalloc(64, GFP_KERNEL, { site: "payload" });
  if (payload === null) {
    // The unwind: without these two lines, the run failing allocation 2 fails the check.
    table.pop();
    yield* kfree(entry);
    return "nomem";
  }
  yield* kfree(payload);
  return "ok";
}

/** Returns how many allocations `insert` makes; each was failed in turn, and every run passed the check. */
export function main(): number {
  return forEachAllocationFailure({
    setup: () => ({ sim: new Sim({ onReport: "collect" }), world: [] as KmallocBuffer[] }),
    body: insert,
    snapshot: (table, sim) => ({ entries: table.length, usage: memoryStats(sim).usageBytes }),
    check: expectUnchangedOnFailure((r) => r === "ok"),
  });
}
