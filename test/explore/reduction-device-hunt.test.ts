/**
 * Soundness hunt over the device layer (review "dpor", issue 11): small
 * programs over Gpu, GpuPageTable, GpuTlb, PhysMem, Iommu, Mm and
 * MmuIntervalNotifier where an exhaustive DFS with DPOR should reach
 * exactly what the unreduced search reaches (what the tasks saw, and the
 * kinds of failure). The D-numbers name the findings in
 * /work/briefs/i11-dpor-findings.md.
 */
import { describe, expect, it } from "vitest";
import { access, DmaFence, FenceContext, Gpu, GpuPageTable, Mm, MmuIntervalNotifier, Mutex, PhysMem, USER_VA_BASE, type MmuIntervalNotifierOps, type Sim } from "../../src/index.js";
import { reached as reachedIn, type ReductionProgram } from "../support/reduction.js";

const PAGE = 4096;

function reached(build: ReductionProgram, reduction: "dpor" | "none"): string[] {
  return reachedIn(build, reduction, { executions: 100_000 });
}

/** A shared driver object, for a step that touches nothing of the device layer. */
function mark(sim: Sim): { n: number } {
  return sim.share({ n: 0 });
}

function gpuWorld(sim: Sim) {
  const mem = new PhysMem(sim, { name: "ram", pages: 16 });
  const pt = new GpuPageTable(sim, mem, { name: "vm0" });
  const gpu = new Gpu(sim, { mem, tlbEntries: 4 });
  return { mem, pt, gpu };
}

const OPS: MmuIntervalNotifierOps = { invalidate: () => true };

/*
 * Every hole this hunt found (D1, D2, D4, D5) is fixed; their programs are
 * in AGREE. A new hole goes in a `describe` of `it.fails` comparing
 * reached(build, "none") with reached(build, "dpor") until it is fixed.
 */

/** Programs tried that agree (kept as controls: they pass today). */
const AGREE: Record<string, ReductionProgram> = {
  // D4 (fixed in the explorer) remove() blocks while an invalidation
  // covering a notifier runs (MmIdle), and the invalidation's start, zap
  // and end steps all write the Mm. With the unmapper run first, the
  // remove's nearest race is with mmu-invalidate-end, where its reversal
  // finds it disabled; the race with the start step, which disabled it, lies
  // behind zap and end in happens-before. The race analysis now looks past
  // races whose waiting step's task had not reached it yet (dfs.ts,
  // "unsure"). Spawning the remover first never showed the hole.
  "D4 remove() of a notifier racing a munmap of its range": (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    sim.spawn("setup", "process", function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, OPS);
      sim.spawn("unmapper", "process", function* () {
        yield* mm.munmap(a, PAGE);
      });
      sim.spawn("remover", "process", function* () {
        yield* n.remove();
        seen(`remover: mapped ${String(mm.isMapped(a, PAGE))}`);
      });
    });
  },

  // D5 (fixed with D4) the same for readBegin(): once the callback called
  // setSeq(), the reader is blocked until the invalidation's end (its wait
  // reads the notifier and the Mm). Its nearest race is with
  // mmu-invalidate-end, where it was disabled; DPOR used to miss
  // "mapped true" (the readBegin before the munmap started).
  "D5 readBegin() racing a munmap whose callback sets the sequence": (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const ops: MmuIntervalNotifierOps = { invalidate: (n, _r, cur) => { n.setSeq(cur); return true; } };
    sim.spawn("setup", "process", function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, ops);
      sim.spawn("unmapper", "process", function* () {
        yield* mm.munmap(a, PAGE);
      });
      sim.spawn("reader", "process", function* () {
        const seq = yield* n.readBegin();
        seen(`reader: mapped ${String(mm.isMapped(a, PAGE))} retry ${String(n.readRetry(seq))}`);
      });
    });
  },

  // D2 (fixed) MmuIntervalNotifier.insert() read Mm.primed before its first
  // effect, in the caller's previous step; the check and the lockdep priming
  // now sit in the insert's own step, which writes the Mm.
  "D2 insert() under a driver lock racing another task's first insert: lockdep learns lock -> fs_reclaim or not": (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const lock = new Mutex(sim, "drv->lock", { static: true });
    sim.spawn("a", "process", function* () {
      yield* lock.lock();
      yield* MmuIntervalNotifier.insert(mm, USER_VA_BASE, PAGE, OPS);
      yield* lock.unlock();
      seen(`a: lock -> fs_reclaim ${String(sim.lockdep.hasEdge(lock.lockClass, sim.lockdep.maps.fsReclaim.lockClass))}`);
    });
    sim.spawn("b", "process", function* () {
      yield* MmuIntervalNotifier.insert(mm, USER_VA_BASE + 2 * PAGE, PAGE, OPS);
    });
  },

  // D1 (fixed) GpuJob.state was a plain field the engine wrote outside any
  // declared write; it is now worked out from noted reads of the Gpu's
  // queue and the finished fence, so the driver's read joins its step.
  "D1 a driver reads GpuJob.state while the engine runs the job": (sim, seen) => {
    const { pt, gpu } = gpuWorld(sim);
    const x = mark(sim);
    sim.spawn("driver", "process", function* () {
      const job = yield* gpu.submit({ name: "j", pageTable: pt });
      yield* access(x, "write");
      seen(`driver: job ${job.state}`);
      yield* job.finished.put("submit");
    });
  },

  // A dependency signalled by a task that also submits: the engine's wait
  // for the dependency against the submit that spawns it.
  "a job depending on a fence its own submitter signals later": (sim, seen) => {
    const { pt, gpu } = gpuWorld(sim);
    const dep = new DmaFence(new FenceContext(sim, "other"), { name: "dep", static: true });
    sim.spawn("submitter", "process", function* () {
      const job = yield* gpu.submit({ name: "j", pageTable: pt, dependencies: [dep], runJob: function* () { seen("ran"); } });
      seen(`after submit: signalled ${String(job.finished.isSignaled())}`);
      yield* dep.signal();
      yield* job.finished.wait(false);
      yield* job.finished.put("submit");
    });
  },

  // An insert during a munmap of the range is deferred to the
  // invalidation's end: readBegin() on the new notifier waits for it.
  "an insert (deferred) and its readBegin() racing a munmap of the range": (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    sim.spawn("setup", "process", function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      yield* MmuIntervalNotifier.insert(mm, a, PAGE, OPS);
      sim.spawn("unmapper", "process", function* () {
        yield* mm.munmap(a, PAGE);
      });
      sim.spawn("binder", "process", function* () {
        const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, OPS);
        const seq = yield* n.readBegin();
        seen(`binder: mapped ${String(mm.isMapped(a, PAGE))} retry ${String(n.readRetry(seq))}`);
        yield* n.remove();
      });
    });
  },
};

/**
 * D3 (a model bug found on the way, fixed): Gpu.submit() took the finished
 * fence's seqno in one step (as drm_sched_job_arm) and queued the job in a
 * later one (as drm_sched_entity_push_job): two tasks submitting to one Gpu
 * could queue the later seqno first, and the library's own fences filed
 * fence-signal-out-of-order. Arm and push are one step now. DPOR (which
 * explores only real schedules) must no longer reach the report.
 */
describe("hunt: model bugs found on the way", () => {
  it("D3 two tasks submitting to one Gpu: the library's own fences signal in order", { timeout: 300_000 }, () => {
    const build: ReductionProgram = (sim, seen) => {
      const { pt, gpu } = gpuWorld(sim);
      sim.spawn("s1", "process", function* () {
        const job = yield* gpu.submit({ name: "j1", pageTable: pt });
        yield* job.finished.put("submit");
      });
      sim.spawn("s2", "process", function* () {
        yield* access(mark(sim), "write");
        const job = yield* gpu.submit({ name: "j2", pageTable: pt, runJob: function* () { seen(`run j2: queued ${gpu.queued}`); } });
        yield* job.finished.put("submit");
      });
    };
    const got = reached(build, "dpor");
    expect(got).toContain("run j2: queued 0");
    expect(got).not.toContain("failure:fence-signal-out-of-order");
  });
});

describe("hunt: DPOR reaches the unreduced outcomes over the device layer", () => {
  for (const [name, build] of Object.entries(AGREE)) {
    it(name, { timeout: 300_000 }, () => {
      const full = reached(build, "none");
      expect(reached(build, "dpor")).toEqual(full);
      expect(full.length).toBeGreaterThan(0);
    });
  }
});
