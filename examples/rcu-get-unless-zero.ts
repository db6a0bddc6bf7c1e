/**
 * docs/rcu.md: the get-unless-zero pattern under RCU (dma_fence_get_rcu()).
 * A reader finds a published object under rcuReadLock() and takes a
 * reference only if the count is not already zero. If the updater frees
 * the object with a plain kfree(), some schedule lets the reader touch it
 * after the free; with kfreeRcu() the free waits for the reader's
 * rcuReadUnlock(), in every schedule. Run it with
 * `npx tsx examples/rcu-get-unless-zero.ts`.
 */
import { explore, kfree, kfreeRcu, Kref, RcuPointer, rcuReadLock, rcuReadUnlock, SimObject, type Effect, type Sim } from "../src/index.js";

class Fence extends SimObject {
  readonly kref = new Kref<Fence>(this);
}

function scenario(release: (f: Fence) => Iterable<Effect, void, unknown>) {
  return (sim: Sim) => {
    const fence = new Fence(sim, "Fence", { name: "f0" });
    const published = new RcuPointer<Fence>(sim, fence, { name: "obj->fence", static: true });
    sim.spawn("reader", "process", function* () {
      yield* rcuReadLock();
      const f = yield* published.rcuDereference();
      // Touches the object: a use-after-free if it was already freed.
      if (f !== null && (yield* f.kref.getUnlessZero())) yield* f.kref.put(release);
      yield* rcuReadUnlock();
    });
    sim.spawn("updater", "process", function* () {
      yield* published.rcuAssignPointer(null); // unpublish...
      yield* fence.kref.put(release); // ...then drop the last reference
    });
  };
}

export function main(): string {
  const buggy = explore(scenario((f) => kfree(f)), { strategy: { name: "dfs" }, shrink: false });
  const fixed = explore(scenario((f) => kfreeRcu(f)), { strategy: { name: "dfs" }, stopAtFirst: false });
  return [
    `kfree:     ${buggy.failures.map((x) => x.report.kind).join(", ") || "clean"}`,
    `kfreeRcu:  ${fixed.failures.length === 0 ? "clean" : "failed"} after ${fixed.executions} executions (${fixed.stoppedBy})`,
  ].join("\n");
}

if (process.argv[1]?.endsWith("rcu-get-unless-zero.ts") === true) console.log(main());
