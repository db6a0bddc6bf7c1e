/**
 * docs/locking.md: a reader/writer spinlock read from an interrupt. Readers
 * share it, so reading it in the irq and with irqs enabled elsewhere is
 * fine; writing it with irqs enabled is not, and lockdep says so the first
 * time it happens. Run it with `npx tsx examples/rwlock-irq.ts`.
 */
import { hardirqEnter, hardirqExit, Lockdep, RwLock, Sim } from "../src/index.js";

export function main(): string {
  const sim = new Sim({ seed: 1, onReport: "collect", lockdep: new Lockdep() });
  const table = new RwLock(sim, "dev->table_lock");
  sim.run(function* () {
    // The irq handler looks the table up: read_lock in hardirq context.
    hardirqEnter();
    yield* table.readLock();
    yield* table.readUnlock();
    hardirqExit();
    // A lookup in process context, irqs enabled: readers share, no problem.
    yield* table.readLock();
    yield* table.readUnlock();
    // An update with irqs enabled: an irq on this CPU would spin on the
    // read side forever. It needs writeLockIrqsave().
    yield* table.writeLock();
    yield* table.writeUnlock();
  });
  return sim.reports.map((r) => (r.kind === "irq-lock-inversion" ? `${r.kind}: ${r.irq} ${r.variant} ${r.safe.lockClass}` : r.kind)).join("\n");
}

if (process.argv[1]?.endsWith("rwlock-irq.ts") === true) console.log(main());
