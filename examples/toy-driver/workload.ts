/**
 * A workload for the toy driver: two processes binding, executing,
 * unbinding and closing in parallel, a userptr unmapped under a running
 * exec, and a memory limit small enough that populating a buffer evicts
 * another one through the shrinker.
 *
 * Mirrors: what a userspace driver (Mesa's panvk / anv on xe) does with
 * the ioctls, plus the kernel's side events (munmap, reclaim). Used by the
 * exploration tests (test/examples/toy-driver*.test.ts), the benchmark
 * (bench/workloads/toy-driver.ts) and docs/toy-driver.md.
 */
import { configureMemory, Mm, type Effect, type Scenario, type Sim } from "../../src/index.js";
import { gemClose, gemCreate } from "./bo.js";
import { ToyDevice, type ToyBug, type ToyFile } from "./device.js";
import { exec, type ExecReq } from "./exec.js";
import { userptrCreate } from "./userptr.js";
import { vmBind, vmBindAsync, vmCreate, vmDestroy, vmLookup, vmUnbind } from "./vm.js";

const PAGE = 4096;

/** Options of {@link toyWorkload}. */
export interface ToyWorkloadOptions {
  /** The deliberate bug (default none). */
  readonly bug?: ToyBug | null;
  /** The same as flags (`{ skipFenceWaitBeforeEvict: true }`), at most one true. */
  readonly bugs?: Partial<Record<ToyBug, boolean>>;
  /** Whether the GPU sits behind an IOMMU (default true). */
  readonly iommu?: boolean;
  /** The memory limit in pages (default 22): small enough that populating a buffer evicts another. */
  readonly limitPages?: number;
  /** Leave out the userptr process (default false). */
  readonly noUserptr?: boolean;
  /** How the userptr goes away: munmap (default) or reclaim (the OOM reaper, not blockable; munmap if it fails). */
  readonly userptrEnd?: "munmap" | "reclaim";
  /** Called with each execution's device (a test reads its `stats` afterwards). */
  readonly onDevice?: (dev: ToyDevice) => void;
}

/** `n` one-page access ranges from `va` (the engine runs each range as one step). */
function pages(va: number, n: number): { va: number; length: number }[] {
  return Array.from({ length: n }, (_, i) => ({ va: va + i * PAGE, length: PAGE }));
}

/** Submit a job and wait for it, as userspace would before reusing its buffers. */
function* execAndWait(file: ToyFile, vmId: number, req: ExecReq): Generator<Effect, void, unknown> {
  const f = yield* exec(file, vmId, req);
  if (typeof f === "string") return;
  yield* f.wait(false);
  yield* f.put("submit");
}

/** The toy driver's workload as an exploration scenario. */
export function toyWorkload(options: ToyWorkloadOptions = {}): Scenario {
  const scenario = (sim: Sim): void => {
    configureMemory(sim, { limitPages: options.limitPages ?? 22 });
    const dev = new ToyDevice(sim, { pages: 256, iommu: options.iommu ?? true, bug: options.bug ?? null, ...(options.bugs === undefined ? {} : { bugs: options.bugs }) });
    options.onDevice?.(dev);

    // Process 1: two BOs, a sync and an async bind, two execs, an unbind, closes, VM destroy.
    sim.spawn("p1", "process", function* () {
      const file = dev.open("p1");
      const vm = yield* vmCreate(file);
      const a = yield* gemCreate(file, 4 * PAGE, "p1-a");
      const b = yield* gemCreate(file, 4 * PAGE, "p1-b");
      // Userspace uses only what it bound (a bind can fail with -ENOMEM under the limit).
      const aOk = (yield* vmBind(file, vm, { handle: a, addr: 0x10_0000, range: 4 * PAGE })) === "ok";
      const bOk = (yield* vmBindAsync(file, vm, { handle: b, addr: 0x20_0000, range: 4 * PAGE })) === "ok";
      if (aOk && bOk) yield* execAndWait(file, vm, { reads: pages(0x10_0000, 4), writes: pages(0x20_0000, 2) });
      // A third buffer: populating it under the limit evicts a or b (idle now) through the shrinker.
      const d = yield* gemCreate(file, 4 * PAGE, "p1-d");
      const dOk = (yield* vmBind(file, vm, { handle: d, addr: 0x30_0000, range: 4 * PAGE })) === "ok";
      // Userspace closes b and d while they are still mapped: the mappings keep them.
      yield* gemClose(file, b);
      yield* gemClose(file, d);
      // The next exec revalidates whatever was evicted.
      const reads = [...(aOk ? pages(0x10_0000, 4) : []), ...(bOk ? pages(0x20_0000, 4) : []), ...(dOk ? pages(0x30_0000, 2) : [])];
      if (reads.length > 0) yield* execAndWait(file, vm, { reads });
      yield* vmUnbind(file, vm, 0x10_0000, 4 * PAGE);
      yield* gemClose(file, a);
      yield* vmDestroy(file, vm);
    });

    // Process 2: a BO and (unless left out) a userptr, an exec reading both; its mm unmaps the userptr meanwhile.
    sim.spawn("p2", "process", function* () {
      const file = dev.open("p2");
      const vm = yield* vmCreate(file);
      const c = yield* gemCreate(file, 4 * PAGE, "p2-c");
      const cOk = (yield* vmBind(file, vm, { handle: c, addr: 0x10_0000, range: 4 * PAGE })) === "ok";
      const cRange = cOk ? [{ va: 0x10_0000, length: 4 * PAGE }] : [];
      if (options.noUserptr !== true) {
        const mm = new Mm(sim, dev.mem, { name: "p2-mm", process: "p2" });
        const addr = yield* mm.mmap(2 * PAGE);
        const toyVm = yield* vmLookup(file, vm);
        if (typeof addr === "number" && toyVm !== null) {
          yield* userptrCreate(toyVm, mm, addr, 2 * PAGE, 0x40_0000);
          // The process unmaps the range (or the OOM reaper takes it first) while the driver pins it
          // for the first exec and its job may read it.
          sim.spawn("p2-munmap", "process", function* () {
            if (options.userptrEnd === "reclaim" && (yield* mm.reclaim(addr, 2 * PAGE))) return;
            yield* mm.munmap(addr, 2 * PAGE);
          });
          const first = yield* exec(file, vm, { reads: cRange, userptrs: true });
          // A second exec: the userptr is still valid, or invalidated (re-pinned, or gone).
          yield* execAndWait(file, vm, { reads: cRange, userptrs: true });
          if (typeof first !== "string") {
            yield* first.wait(false);
            yield* first.put("submit");
          }
        } else {
          yield* execAndWait(file, vm, { reads: cRange });
        }
        yield* vmDestroy(file, vm);
      } else {
        yield* execAndWait(file, vm, { writes: cRange });
        yield* vmDestroy(file, vm);
      }
      yield* gemClose(file, c);
    });
  };
  return scenario;
}

// Ready-made scenarios for the command line, which explores a module's
// scenario functions (sim) => void, not a factory such as toyWorkload():
//   npm run cli -- explore examples/toy-driver/workload.ts correct
//   npm run cli -- explore examples/toy-driver/workload.ts --all
// One per deliberate bug, each in the setting that shows it (see docs/toy-driver.md).

/** The correct driver: explored, it files nothing and leaks nothing. */
export function correct(sim: Sim): void {
  toyWorkload()(sim);
}

/** Bug `ignoreReadRetry`: a userptr pin that never checks readRetry. */
export function ignoreReadRetry(sim: Sim): void {
  toyWorkload({ bug: "ignoreReadRetry" })(sim);
}

/** Bug `skipFenceWaitBeforeEvict`: the shrinker evicts a buffer whose job has not run yet. */
export function skipFenceWaitBeforeEvict(sim: Sim): void {
  toyWorkload({ bug: "skipFenceWaitBeforeEvict" })(sim);
}

/** Bug `freeBeforeTlbInvalidate`, without an IOMMU (behind one, IOVA reuse usually hides it). */
export function freeBeforeTlbInvalidate(sim: Sim): void {
  toyWorkload({ bug: "freeBeforeTlbInvalidate", iommu: false })(sim);
}

/** Bug `freeBeforeIommuFlush`: the eviction frees the pages before the IOMMU unmap and IOTLB flush. */
export function freeBeforeIommuFlush(sim: Sim): void {
  toyWorkload({ bug: "freeBeforeIommuFlush" })(sim);
}
