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
function* withResv<T>(vm: FakeVm, body: () => Iterable<Effect, T, unknown>): Generator<Effect, T, unknown> {
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
    expect(r[0]?.which).toBe("extobj");
    expect(r[0]?.firstWalker).toMatch(/^first/);
    expect(r[0]?.secondWalker).toMatch(/^second/);
    expect(r[0]?.firstWalk.op).toBe("for_each_vm_bo_in_list");
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
    const r = explore((sim) => { racingWalk(sim, mode, (s) => outcomes.add(s)); }, {
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

/** A VM with two external GEMs (ext0, ext1) and one private GEM (priv), each with a VmBo. */
function* mixedWorld(sim: Sim, options: FakeVmOptions): Generator<Effect, World & { ext: FakeVmBo[]; priv: FakeVmBo }, unknown> {
  const vm = new FakeVm(sim, "vm", options);
  const gems = [new FakeGem(sim, "ext0"), new FakeGem(sim, "ext1"), vm.privateGem("priv")];
  const vmBos: FakeVmBo[] = [];
  for (const g of gems) vmBos.push(yield* vm.obtain(g));
  return { vm, gems, vmBos, ext: vmBos.slice(0, 2), priv: vmBos[2] as FakeVmBo };
}

/** extobjAdd every VmBo (under the VM resv in resv mode). */
function* extobjAddAll(w: World): Generator<Effect, void, unknown> {
  const run = function* (): Generator<Effect, void, unknown> {
    for (const b of w.vmBos) yield* extobjAdd(b);
  };
  if (w.vm.flags.resvProtected) yield* withResv(w.vm, run);
  else yield* run();
}

/** evict(b, flag) under b's GEM resv. */
function* evictLocked(b: FakeVmBo, flag: boolean): Generator<Effect, void, unknown> {
  yield* b.obj.resv.lock(null);
  yield* evict(b, flag);
  yield* b.obj.resv.unlock();
}

describe("extobjAdd, evict, gemEvict", () => {
  it.each(MODES)("%s mode: extobjAdd adds external objects only, once", (mode) => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* mixedWorld(sim, { listMode: mode });
      yield* extobjAddAll(w);
      yield* extobjAddAll(w);
      if (mode !== "spinlock") yield* walkNames(w, "extobj");
      expect(w.vm.extobj.entries()).toEqual(w.ext);
      yield* teardownWorld(w);
    });
    clean(sim);
  });

  it("resv mode: extobjAdd without the VM resv files lock-not-held", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* mixedWorld(sim, { listMode: "resv" });
      yield* extobjAdd(w.ext[0] as FakeVmBo);
      yield* teardownWorld(w);
    });
    // One missing lock, one report (the list's add asserts it; extobjAdd does not again).
    expect(sim.reports.map((r) => [r.kind, (r as LockNotHeldReport).lock])).toEqual([["lock-not-held", expect.stringContaining("r_obj.resv")]]);
  });

  it("spinlock mode: evict puts the VmBo on the evict list and sets the flag; evict(false) undoes both", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* mixedWorld(sim, { listMode: "spinlock" });
      for (const b of w.vmBos) yield* evictLocked(b, true);
      expect(w.vm.evict.entries()).toEqual(w.vmBos);
      expect(w.vmBos.map((b) => b.evicted)).toEqual([true, true, true]);
      yield* evictLocked(w.ext[1] as FakeVmBo, false);
      expect(w.vm.evict.entries()).toEqual([w.ext[0], w.priv]);
      expect((w.ext[1] as FakeVmBo).evicted).toBe(false);
      yield* teardownWorld(w);
    });
    clean(sim);
  });

  it("resv mode: evicting an external object only sets its flag; prepareObjects moves it to the evict list", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* mixedWorld(sim, { listMode: "resv" });
      yield* extobjAddAll(w);
      for (const b of w.vmBos) yield* evictLocked(b, true);
      // The private one shares the VM resv, held: it goes straight on the list.
      expect(w.vm.evict.entries()).toEqual([w.priv]);
      const exec = new DrmExec(sim);
      const r = yield* exec.untilAllLocked(function* () {
        const a = yield* prepareVm(w.vm, exec, 0);
        if (a !== "ok") return a;
        return (yield* prepareObjects(w.vm, exec, 0)) as "ok";
      });
      expect(r).toBe("ok");
      expect(exec.objects()).toEqual([w.vm.resvObj, w.gems[0], w.gems[1]]);
      expect(w.vm.evict.entries()).toEqual([w.priv, w.ext[0], w.ext[1]]);
      yield* exec.fini();
      yield* teardownWorld(w);
    });
    clean(sim);
  });

  it("evict without the GEM's resv files lock-not-held naming it", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* mixedWorld(sim, { listMode: "spinlock" });
      yield* evict(w.ext[0] as FakeVmBo, true);
      expect((w.ext[0] as FakeVmBo).evicted).toBe(true);
      yield* teardownWorld(w);
    });
    expect(sim.reports.map((r) => [r.kind, (r as LockNotHeldReport).lock])).toEqual([["lock-not-held", expect.stringContaining("ext0.resv")]]);
  });

  it("gemEvict evicts the GEM's VmBo in every VM; in immediate mode it asserts the GEM's gpuvaLock", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const vm1 = new FakeVm(sim, "vm1", { immediateMode: true });
      const vm2 = new FakeVm(sim, "vm2", { immediateMode: true });
      const gem = new FakeGem(sim, "shared");
      const b1 = yield* vm1.obtain(gem);
      const b2 = yield* vm2.obtain(gem);
      yield* gem.resv.lock(null);
      yield* gemEvict(gem, true); // gpuvaLock not held: two reports
      yield* gem.gpuvaLock.lock();
      yield* gemEvict(gem, false);
      yield* gemEvict(gem, true);
      yield* gem.gpuvaLock.unlock();
      yield* gem.resv.unlock();
      expect(vm1.evict.entries()).toEqual([b1]);
      expect(vm2.evict.entries()).toEqual([b2]);
      for (const b of [b1, b2]) yield* b.putLocked("creator");
      yield* gem.put("creator");
      yield* vm1.put("creator");
      yield* vm2.put("creator");
    });
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports.map((r) => [r.kind, (r as LockNotHeldReport).lock])).toEqual([
      ["lock-not-held", expect.stringContaining("gpuva.lock")],
      ["lock-not-held", expect.stringContaining("gpuva.lock")],
    ]);
  });
});

describe("execLock, validate, resvAddFence", () => {
  it.each(["resv", "two-list"] as const)("%s mode: prepareObjects and validate without the VM resv file lock-not-held naming it", (mode) => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* mixedWorld(sim, { listMode: mode, ops: { vmBoValidate: () => "ok" } });
      yield* extobjAddAll(w);
      const exec = new DrmExec(sim);
      yield* exec.untilAllLocked(function* () {
        return (yield* prepareObjects(w.vm, exec, 0)) as "ok";
      });
      expect(yield* validate(w.vm, exec)).toBe("ok");
      yield* exec.fini();
      yield* teardownWorld(w);
    });
    const locks = sim.reports.map((r) => (r.kind === "lock-not-held" ? r.lock : r.kind));
    expect(locks.length).toBeGreaterThanOrEqual(2);
    for (const l of locks) expect(l).toContain("vm.r_obj.resv");
  });


  it.each(MODES)("%s mode: execLock locks the VM and every extobj; validate validates every evicted VmBo; resvAddFence uses the extobj usage for external objects", (mode) => {
    const sim = collectingSim();
    sim.run(function* () {
      const validated: string[] = [];
      const w = yield* mixedWorld(sim, {
        listMode: mode,
        ops: {
          *vmBoValidate(b) {
            validated.push(b.obj.name);
            yield* evict(b, false);
          },
        },
      });
      yield* extobjAddAll(w);
      for (const b of w.vmBos) yield* evictLocked(b, true);
      const ve = new GpuVmExec({ vm: w.vm, numFences: 1, flags: { interruptibleWait: true } });
      expect(yield* execLock(ve)).toBe("ok");
      expect(ve.exec.objects()).toEqual([w.vm.resvObj, w.gems[0], w.gems[1]]);
      expect(yield* validate(w.vm, ve.exec)).toBe("ok");
      expect(validated.sort()).toEqual(["ext0", "ext1", "priv"]);
      expect(w.vm.evict.size).toBe(0);
      const fence = new DmaFence(new FenceContext(sim, "ring"), { name: "job" });
      yield* resvAddFence(w.vm, ve.exec, fence, "bookkeep", "write");
      expect(w.vm.resv.fenceList.map((e) => e.usage)).toEqual(["bookkeep"]);
      expect((w.gems[0] as FakeGem).resv.fenceList.map((e) => e.usage)).toEqual(["write"]);
      expect((w.gems[1] as FakeGem).resv.fenceList.map((e) => e.usage)).toEqual(["write"]);
      yield* ve.exec.fini();
      yield* fence.signal();
      yield* fence.put();
      yield* teardownWorld(w);
    });
    clean(sim);
  });

  it("validate returns the callback's error and stops there", () => {
    const sim = collectingSim();
    sim.run(function* () {
      let calls = 0;
      const w = yield* mixedWorld(sim, {
        listMode: "spinlock",
        ops: {
          vmBoValidate() {
            calls++;
            return "nomem";
          },
        },
      });
      for (const b of w.ext) yield* evictLocked(b, true);
      const exec = new DrmExec(sim);
      expect(yield* validate(w.vm, exec)).toBe("nomem");
      expect(calls).toBe(1);
      expect(w.vm.evict.entries()).toEqual(w.ext);
      for (const b of w.ext) expect(b.refcount.read()).toBe(1);
      yield* exec.fini();
      yield* teardownWorld(w);
    });
    clean(sim);
  });

  it("execLockArray also locks the given objects; execLockRange locks the GEMs mapped in the range, skipping sparse mappings", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* mixedWorld(sim, { listMode: "spinlock" });
      yield* extobjAddAll(w);
      const more = new FakeGem(sim, "more");
      const ve = new GpuVmExec({ vm: w.vm });
      expect(yield* execLockArray(ve, [more])).toBe("ok");
      expect(ve.exec.objects()).toEqual([w.vm.resvObj, w.gems[0], w.gems[1], more]);
      yield* ve.exec.fini();
      w.vm.vas = [
        { addr: 0, range: 0x1000, gem: { obj: w.gems[2] as FakeGem } },
        { addr: 0x1000, range: 0x1000, gem: { obj: null } },
        { addr: 0x2000, range: 0x1000, gem: { obj: w.gems[0] as FakeGem } },
      ];
      const vr = new GpuVmExec({ vm: w.vm, numFences: 2 });
      expect(yield* execLockRange(vr, 0, 0x2000)).toBe("ok");
      expect(vr.exec.objects()).toEqual([w.gems[2]]);
      yield* vr.exec.fini();
      const exec = new DrmExec(sim);
      expect(yield* exec.untilAllLocked(function* () {
          return yield* prepareRange(w.vm, exec, 0x1000, 0x2000, 0);
        })).toBe("ok");
      expect(exec.objects()).toEqual([w.gems[0]]);
      yield* exec.fini();
      yield* more.put("creator");
      yield* teardownWorld(w);
    });
    clean(sim);
  });

  it("execLock: an extra step's error ends the loop, the DrmExec is finished and the error returned", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = yield* mixedWorld(sim, { listMode: "spinlock" });
      yield* extobjAddAll(w);
      const ve = new GpuVmExec({
        vm: w.vm,
        extra: {
          *fn(x) {
            // Locking the VM's resv object again, without ignoreDuplicates.
            return yield* x.exec.lockObj(x.vm.resvObj);
          },
        },
      });
      expect(yield* execLock(ve)).toBe("already-held");
      expect(ve.exec.objects()).toEqual([]);
      expect(w.vm.resv.isLocked()).toBe(false);
      yield* teardownWorld(w);
    });
    clean(sim);
  });
});

describe("docs/vm-bo-list.md", () => {
  it("the example: the snapshot walk is clean under every schedule, the naive walk is a use-after-free", async () => {
    const { main } = await import("../../examples/vm-bo-list.js");
    const text = main();
    expect(text).toMatch(/^snapshot walk: \d+ executions, exhausted: true, failures: 0$/m);
    expect(text).toMatch(/^naive walk: use-after-free after \d+ executions$/m);
  }, 60_000);
});
