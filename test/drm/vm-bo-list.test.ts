/**
 * VmBoList (src/drm/vm-bo-list.ts) over the fakes of test/support/fake-gpuvm.ts:
 * add/del/contains in each list mode; walks (snapshot, resv, two-list) with
 * break, errors, zombies and dying entries; the lock assertions of each mode;
 * the concurrent-walk report; a naive walk caught as a use-after-free; walks
 * racing adds, dels and puts under a preemption-bounded DFS; and the VM's
 * list functions (extobjAdd, evict, gemEvict, prepare*, validate,
 * resvAddFence, execLock*).
 */
import { describe, expect, it } from "vitest";
import {
  access,
  Completion,
  condResched,
  DmaFence,
  DrmExec,
  evict,
  execLock,
  execLockArray,
  execLockRange,
  explore,
  extobjAdd,
  FenceContext,
  gemEvict,
  GpuVmExec,
  prepareObjects,
  prepareRange,
  prepareVm,
  resvAddFence,
  validate,
  VM_BO_LIST_WALK_HOLDER,
  type Effect,
  type LockNotHeldReport,
  type Sim,
  type VmBoListConcurrentWalkReport,
  type VmBoListMode,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { FakeGem, FakeVm, FakeVmBo, type FakeVmOptions } from "../support/fake-gpuvm.js";

const MODES: readonly VmBoListMode[] = ["spinlock", "resv", "two-list"];

/** A VM with `n` external GEMs (bo0, bo1, ...) and one VmBo each. */
interface World {
  readonly vm: FakeVm;
  readonly gems: FakeGem[];
  readonly vmBos: FakeVmBo[];
}

function* world(sim: Sim, n: number, options: FakeVmOptions = {}): Generator<Effect, World, unknown> {
  const vm = new FakeVm(sim, "vm", options);
  const gems: FakeGem[] = [];
  const vmBos: FakeVmBo[] = [];
  for (let i = 0; i < n; i++) {
    const gem = new FakeGem(sim, `bo${i}`);
    gems.push(gem);
    vmBos.push(yield* vm.obtain(gem));
  }
  return { vm, gems, vmBos };
}

/** Lock what a list op needs in `mode` from outside (the VM resv in resv/two-list mode for lock=false ops). */
function* withResv<T>(vm: FakeVm, body: () => Generator<Effect, T, unknown>): Generator<Effect, T, unknown> {
  yield* vm.resv.lock(null);
  const r = yield* body();
  yield* vm.resv.unlock();
  return r;
}

/** Put every VmBo's creator reference (under the VM resv, as the resv mode's destroy asserts), then the GEMs and the VM. */
function* teardownWorld(w: World, vmBos: readonly FakeVmBo[] = w.vmBos): Generator<Effect, void, unknown> {
  yield* w.vm.resv.lock(null);
  for (const b of vmBos) yield* b.putLocked("creator");
  yield* w.vm.resv.unlock();
  yield* w.vm.deferredCleanup();
  for (const g of w.gems) yield* g.put("creator");
  yield* w.vm.put("creator");
}

/** Add to the list the usual way of the mode: with the spinlock, or under the VM resv. */
function* addAll(w: World, which: "extobj" | "evict", vmBos: readonly FakeVmBo[] = w.vmBos): Generator<Effect, void, unknown> {
  const list = w.vm[which];
  if (list.mode === "resv") {
    yield* withResv(w.vm, function* () {
      for (const b of vmBos) yield* list.add(b, false);
    });
  } else {
    for (const b of vmBos) yield* list.add(b);
  }
}

/** Walk with whatever lock the mode needs from outside. */
function* walkNames(w: World, which: "extobj" | "evict", body: (b: FakeVmBo) => string | undefined = () => undefined): Generator<Effect, { names: string[]; r: string }, unknown> {
  const list = w.vm[which];
  const names: string[] = [];
  const run = function* (): Generator<Effect, string, unknown> {
    return yield* list.walk((b) => {
      names.push(b.obj.name);
      return body(b);
    });
  };
  const r = list.mode === "spinlock" ? yield* run() : yield* withResv(w.vm, run);
  return { names, r };
}

function clean(sim: Sim): void {
  expect(sim.teardown()).toEqual([]);
  expect(sim.reports).toEqual([]);
}

describe.each(MODES)("VmBoList in %s mode", (mode) => {
  it("add, contains, entries, size; a second add and a del of an absent entry do nothing", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 3, { listMode: mode });
      const list = w.vm.extobj;
      expect(list.mode).toBe(mode);
      expect(list.label).toBe(`${w.vm.label}.extobj`);
      yield* addAll(w, "extobj", [w.vmBos[0] as FakeVmBo, w.vmBos[1] as FakeVmBo, w.vmBos[0] as FakeVmBo]);
      expect(list.size).toBe(2);
      expect(list.entries()).toEqual([w.vmBos[0], w.vmBos[1]]);
      expect(list.contains(w.vmBos[2] as FakeVmBo)).toBe(false);
      const del = function* (b: FakeVmBo): Generator<Effect, void, unknown> {
        if (mode === "spinlock") yield* list.del(b);
        else yield* withResv(w.vm, () => list.del(b, mode === "two-list"));
      };
      yield* del(w.vmBos[2] as FakeVmBo);
      yield* del(w.vmBos[0] as FakeVmBo);
      expect(list.entries()).toEqual([w.vmBos[1]]);
      expect(list.contains(w.vmBos[0] as FakeVmBo)).toBe(false);
      // The VmBo's destroy takes it off the list.
      yield* w.vm.resv.lock(null);
      yield* (w.vmBos[1] as FakeVmBo).putLocked("creator");
      yield* w.vm.resv.unlock();
      expect(list.size).toBe(0);
      yield* teardownWorld(w, [w.vmBos[0] as FakeVmBo, w.vmBos[2] as FakeVmBo]);
    });
    clean(sim);
  });

  it("a walk visits every entry in order; 'break' stops it with ok; an error string stops it and is returned", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 3, { listMode: mode });
      yield* addAll(w, "extobj");
      expect(yield* walkNames(w, "extobj")).toEqual({ names: ["bo0", "bo1", "bo2"], r: "ok" });
      expect(yield* walkNames(w, "extobj", (b) => (b.obj.name === "bo1" ? "break" : undefined))).toEqual({ names: ["bo0", "bo1"], r: "ok" });
      expect(yield* walkNames(w, "extobj", (b) => (b.obj.name === "bo0" ? "nomem" : undefined))).toEqual({ names: ["bo0"], r: "nomem" });
      // The snapshot is back, in the same order, and the walk's references are gone.
      expect(w.vm.extobj.entries()).toEqual(w.vmBos);
      for (const b of w.vmBos) expect(b.refcount.read()).toBe(1);
      yield* teardownWorld(w);
    });
    clean(sim);
  });

  it("a walk body may be a generator; it sees the entry with a reference in spinlock mode", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 2, { listMode: mode });
      yield* addAll(w, "evict");
      const counts: number[] = [];
      const run = function* (): Generator<Effect, string, unknown> {
        return yield* w.vm.evict.walk(function* (b) {
          yield* condResched();
          counts.push(b.refcount.read());
          return "ok";
        });
      };
      const r = mode === "spinlock" ? yield* run() : yield* withResv(w.vm, run);
      expect(r).toBe("ok");
      expect(counts).toEqual(mode === "spinlock" ? [2, 2] : [1, 1]);
      yield* teardownWorld(w);
    });
    clean(sim);
  });
});

describe("zombies and dying entries", () => {
  it("resv mode: a zombie (putDeferred, refcount 0) stays on the list until cleanup and every walk skips it", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 2, { listMode: "resv", immediateMode: true });
      yield* addAll(w, "extobj");
      const zombie = w.vmBos[0] as FakeVmBo;
      yield* zombie.putDeferred("creator");
      expect(zombie.state).toBe("zombie");
      expect(w.vm.extobj.contains(zombie)).toBe(true);
      expect((yield* walkNames(w, "extobj")).names).toEqual(["bo1"]);
      yield* w.vm.deferredCleanup();
      expect(w.vm.extobj.entries()).toEqual([w.vmBos[1]]);
      yield* teardownWorld(w, [w.vmBos[1] as FakeVmBo]);
    });
    clean(sim);
  });

  it("spinlock mode: an entry whose count reached zero but is not unlinked yet is dropped from the list (list_del_init), not visited", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 2, { listMode: "spinlock" });
      yield* addAll(w, "extobj");
      const dying = w.vmBos[0] as FakeVmBo;
      // The destroy path is blocked on the list's spinlock, its count already zero.
      const tick = sim.share({});
      yield* w.vm.extobj.lock.lock();
      const putter = sim.spawn("putter", "process", function* () {
        yield* dying.putLocked("creator");
      });
      while (dying.refcount.read() !== 0) yield* access(tick, "read");
      yield* w.vm.extobj.lock.unlock();
      // Whichever of the walk and the destroy takes the spinlock first, the walk never visits the dying entry.
      const { names } = yield* walkNames(w, "extobj");
      expect(names).not.toContain("bo0");
      while (putter.state !== "done") yield* condResched();
      expect(w.vm.extobj.entries()).toEqual([w.vmBos[1]]);
      yield* teardownWorld(w, [w.vmBos[1] as FakeVmBo]);
    });
    clean(sim);
  });
});

describe("lock assertions, in each mode", () => {
  function notHeld(sim: Sim): LockNotHeldReport[] {
    return sim.reports.filter((r): r is LockNotHeldReport => r.kind === "lock-not-held");
  }

  it("spinlock: add/del with lock=false without the list's spinlock", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 1, { listMode: "spinlock" });
      yield* w.vm.extobj.add(w.vmBos[0] as FakeVmBo, false);
      yield* w.vm.extobj.del(w.vmBos[0] as FakeVmBo, false);
      // With the spinlock held, no report.
      yield* w.vm.evict.lock.lock();
      yield* w.vm.evict.add(w.vmBos[0] as FakeVmBo, false);
      yield* w.vm.evict.lock.unlock();
      yield* teardownWorld(w);
    });
    const r = notHeld(sim);
    expect(r.map((x) => x.lock)).toEqual([expect.stringContaining("extobj.lock"), expect.stringContaining("extobj.lock")]);
    expect(r[0]?.owner).toBeNull();
  });

  it("resv: add, del and walk without the VM resv", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 1, { listMode: "resv" });
      yield* w.vm.extobj.add(w.vmBos[0] as FakeVmBo);
      yield* w.vm.extobj.walk(() => "ok");
      yield* w.vm.extobj.del(w.vmBos[0] as FakeVmBo);
      yield* teardownWorld(w);
    });
    const r = notHeld(sim);
    expect(r).toHaveLength(3);
    for (const x of r) expect(x.lock).toContain("vm.r_obj.resv");
  });

  it("two-list: add(lock=false) and walk without the VM resv; del of a side-list entry with lock=false without the spinlock", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 2, { listMode: "two-list" });
      const [a, b] = w.vmBos as [FakeVmBo, FakeVmBo];
      yield* w.vm.extobj.add(a, false);
      yield* w.vm.extobj.walk(() => "ok");
      yield* w.vm.extobj.add(b, true);
      yield* withResv(w.vm, () => w.vm.extobj.del(b, false));
      yield* teardownWorld(w);
    });
    const r = notHeld(sim);
    expect(r.map((x) => x.lock)).toEqual([expect.stringContaining("r_obj.resv"), expect.stringContaining("r_obj.resv"), expect.stringContaining("extobj.lock")]);
  });

  it("two-list: an entry added under the spinlock waits on the side list until a walk under the resv splices it", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* world(sim, 2, { listMode: "two-list" });
      yield* w.vm.extobj.add(w.vmBos[0] as FakeVmBo);
      expect(w.vm.extobj.pending).toEqual([w.vmBos[0]]);
      expect(w.vm.extobj.list).toEqual([]);
      expect((yield* walkNames(w, "extobj")).names).toEqual(["bo0"]);
      expect(w.vm.extobj.list).toEqual([w.vmBos[0]]);
      expect(w.vm.extobj.pending).toEqual([]);
      yield* teardownWorld(w);
    });
    clean(sim);
  });
});

describe("concurrent walks and naive walks", () => {
  /** first walks extobj and, inside its body, lets second start a walk of the same list. */
  function twoWalks(sim: Sim): { results: string[] } {
    const results: string[] = [];
    const started = new Completion(sim, { name: "started", static: true });
    const go = new Completion(sim, { name: "go", static: true });
    sim.run(function* () {
      const w = yield* world(sim, 2, { listMode: "spinlock" });
      yield* addAll(w, "extobj");
      sim.spawn("first", "process", function* () {
        results.push(
          yield* w.vm.extobj.walk(function* () {
            yield* started.complete();
            yield* go.waitForCompletion();
          }),
        );
      });
      const second = sim.spawn("second", "process", function* () {
        yield* started.waitForCompletion();
        results.push(yield* w.vm.extobj.walk(() => "ok"));
        yield* go.completeAll();
      });
      while (second.state !== "done" || results.length < 2) yield* condResched();
      expect(w.vm.extobj.entries()).toEqual(w.vmBos);
      yield* teardownWorld(w);
    });
    return { results };
  }

  it("a second snapshot walk of the same list is reported, naming both walkers, and changes nothing", () => {
    const sim = collectingSim();
    const { results } = twoWalks(sim);
    expect(results).toEqual(["busy", "ok"]);
    const r = sim.reports.filter((x): x is VmBoListConcurrentWalkReport => x.kind === "vm-bo-list-concurrent-walk");
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ which: "extobj", firstWalker: expect.stringContaining("first"), secondWalker: expect.stringContaining("second") });
    expect(r[0]?.list).toContain(".extobj");
    expect(sim.reports.map((x) => x.kind)).toEqual(["vm-bo-list-concurrent-walk"]);
  });

  it("a naive walk (the driver's own loop over entries() without references) is a use-after-free when another task drops the last reference", () => {
    const seen: string[] = [];
    const r = explore(
      (sim) => {
        const vm = new FakeVm(sim, "vm");
        const gem = new FakeGem(sim, "bo0");
        sim.spawn("setup", "process", function* () {
          const b = yield* vm.obtain(gem);
          yield* vm.extobj.add(b);
          const walker = sim.spawn("walker", "process", function* () {
            for (const e of vm.extobj.entries()) {
              yield* condResched();
              // The driver's use of the entry, with no reference of its own.
              seen.push(e.state);
            }
          });
          const putter = sim.spawn("putter", "process", function* () {
            yield* gem.resv.lock(null);
            yield* b.putLocked("creator");
            yield* gem.resv.unlock();
          });
          while (walker.state !== "done" || putter.state !== "done") yield* condResched();
          yield* gem.put("creator");
          yield* vm.put("creator");
        });
      },
      { strategy: { name: "dfs", preemptionBound: 2 }, executions: 5_000, shrink: false },
    );
    expect(r.failures.map((f) => f.report.kind)).toEqual(["use-after-free"]);
    expect(r.failures[0]?.report).toMatchObject({ object: { type: "FakeVmBo" }, access: "Kref.read" });
  });
});

/**
 * A walker walks the extobj list (under the VM resv in resv and two-list
 * mode) while an adder adds a third VmBo and a putter drops the last
 * reference of the first (its destroy unlinks it; under the VM resv where
 * the mode says the main list is the resv's). Every schedule of a
 * preemption-bounded DFS is clean: no use-after-free, no lock report, no
 * leak, and the walk never sees a freed VmBo.
 */
function racingWalk(sim: Sim, mode: VmBoListMode, seen: (s: string) => void): void {
  const vm = new FakeVm(sim, "vm", { listMode: mode });
  const gems = [0, 1, 2].map((i) => new FakeGem(sim, `bo${i}`));
  sim.spawn("setup", "process", function* () {
    const w: World = { vm, gems, vmBos: [] };
    for (const g of gems) w.vmBos.push(yield* vm.obtain(g));
    const [a, b, c] = w.vmBos as [FakeVmBo, FakeVmBo, FakeVmBo];
    yield* addAll(w, "extobj", [a, b]);
    const names: string[] = [];
    // Whichever task ends last tears the world down (no spinning waiter: fewer schedules).
    let running = 3;
    const done = function* (): Generator<Effect, void, unknown> {
      if (--running > 0) return;
      seen(names.join(","));
      yield* teardownWorld(w, [b, c]);
    };
    sim.spawn("walker", "process", function* () {
      const r = yield* walkNames(w, "extobj", (x) => {
        // A use of the entry: a report if it were freed.
        names.push(x.state);
        return undefined;
      });
      names.push(r.r, ...r.names);
      yield* done();
    });
    sim.spawn("adder", "process", function* () {
      if (mode === "resv") yield* withResv(vm, () => vm.extobj.add(c, false));
      else yield* vm.extobj.add(c);
      yield* done();
    });
    sim.spawn("putter", "process", function* () {
      if (mode === "spinlock") yield* a.putLocked("creator");
      else yield* withResv(vm, () => a.putLocked("creator"));
      yield* done();
    });
  });
}

describe("walks racing adds and puts, under a preemption-bounded DFS", () => {
  it.each(MODES)("%s mode: every schedule is clean", (mode) => {
    const outcomes = new Set<string>();
    const r = explore((sim) => racingWalk(sim, mode, (s) => outcomes.add(s)), {
      strategy: { name: "dfs", preemptionBound: 2 },
      executions: 20_000,
      stopAtFirst: false,
      shrink: false,
    });
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
    expect(r.exhausted).toBe(true);
    // The walk saw only live entries, and more than one outcome happened.
    for (const o of outcomes) expect(o).not.toContain("zombie");
    expect(outcomes.size).toBeGreaterThan(1);
  }, 60_000);
});
