/**
 * Model-based test of the GPUVM core (fast-check's commands API): random
 * sequences of obtain / map (insert + link) / unmap (unlink + remove) / put
 * / putDeferred / unlinkDeferred / cleanup / close against a simple model
 * (per GEM: the driver's VmBo references and the mapped slots), in every VM
 * mode, checking the VM's invariants and every refcount after each command,
 * and that tearing everything down leaves no report and no leak.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boFind, boObtain, gemGpuvaLock, kfree, Mapping, type Effect, type GemObject, type Sim, type VmBo } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { VM_MODES, world, type VmMode, type World } from "../support/gpuvm-world.js";

const SLOTS = 4;
const GEMS = 2;

interface Model {
  drvRefs: number[];
  slots: (number | null)[];
}

interface Real {
  sim: Sim;
  mode: VmMode;
  w: World;
  gems: GemObject[];
  maps: (Mapping | null)[];
}

function run(r: Real, body: () => Generator<Effect, void, unknown>): void {
  r.sim.run(body);
}

function gem(r: Real, g: number): GemObject {
  const o = r.gems[g];
  if (o === undefined) throw new Error(`no gem ${g}`);
  return o;
}

/** The VmBo of gem g, found under its lock (no reference kept). */
function vmBoOf(r: Real, g: number): VmBo | null {
  const list = r.gems[g]?.vmBos() ?? [];
  return list.find((b) => b.vm === r.w.vm) ?? null;
}

function check(m: Model, r: Real): void {
  expect(r.w.vm.checkInvariants()).toEqual([]);
  let live = 0;
  for (let g = 0; g < GEMS; g++) {
    const mapped = m.slots.filter((s) => s === g).length;
    const expectRefs = (m.drvRefs[g] ?? 0) + mapped;
    const b = vmBoOf(r, g);
    if (expectRefs === 0) expect(b).toBeNull();
    else {
      expect(b).not.toBeNull();
      expect(b?.refcount.read()).toBe(expectRefs);
      live++;
    }
  }
  const inserted = m.slots.filter((s) => s !== null).length;
  expect(r.w.vm.refcount.read()).toBe(1 + inserted + live + r.w.vm.deferredVmBos().length);
}

class Obtain implements fc.Command<Model, Real> {
  constructor(readonly g: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const g = this.g;
    run(r, function* () {
      const b = yield* boObtain(r.w.vm, gem(r, g), "drv");
      expect(b).not.toBe("nomem");
    });
    m.drvRefs[g] = (m.drvRefs[g] ?? 0) + 1;
    check(m, r);
  }
  toString(): string {
    return `obtain(g${this.g})`;
  }
}

class Put implements fc.Command<Model, Real> {
  constructor(
    readonly g: number,
    readonly deferred: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return (m.drvRefs[this.g] ?? 0) > 0;
  }
  run(m: Model, r: Real): void {
    const g = this.g;
    const b = vmBoOf(r, g);
    if (b === null) throw new Error(`no VmBo of g${g}`);
    const deferred = this.deferred && r.mode === "immediateMode";
    run(r, function* () {
      if (deferred) yield* b.putDeferred("drv");
      else yield* b.put("drv");
    });
    m.drvRefs[g] = (m.drvRefs[g] ?? 0) - 1;
    check(m, r);
  }
  toString(): string {
    return `put(g${this.g}${this.deferred ? ", deferred" : ""})`;
  }
}

class MapSlot implements fc.Command<Model, Real> {
  constructor(
    readonly slot: number,
    readonly g: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.slots[this.slot] === null;
  }
  run(m: Model, r: Real): void {
    const { slot, g } = this;
    run(r, function* () {
      const b = yield* boObtain(r.w.vm, gem(r, g), "map");
      if (b === "nomem") throw new Error("nomem");
      const va = new Mapping(r.sim, { addr: slot * 0x1000, range: 0x1000, obj: gem(r, g) });
      yield* va.insert(r.w.vm);
      yield* va.link(b);
      yield* b.put("map");
      r.maps[slot] = va;
    });
    m.slots[slot] = g;
    check(m, r);
  }
  toString(): string {
    return `map(slot${this.slot}, g${this.g})`;
  }
}

class Unmap implements fc.Command<Model, Real> {
  constructor(
    readonly slot: number,
    readonly deferred: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.slots[this.slot] !== null;
  }
  run(m: Model, r: Real): void {
    const va = r.maps[this.slot];
    if (va === null || va === undefined) throw new Error(`slot ${this.slot} is empty`);
    const deferred = this.deferred && r.mode === "immediateMode";
    run(r, function* () {
      if (deferred) yield* va.unlinkDeferred();
      else yield* va.unlink();
      yield* va.remove();
      yield* kfree(va);
    });
    r.maps[this.slot] = null;
    m.slots[this.slot] = null;
    check(m, r);
  }
  toString(): string {
    return `unmap(slot${this.slot}${this.deferred ? ", deferred" : ""})`;
  }
}

class Cleanup implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    run(r, function* () {
      yield* r.w.vm.boDeferredCleanup();
    });
    expect(r.w.vm.deferredVmBos()).toEqual([]);
    check(m, r);
  }
  toString(): string {
    return "cleanup";
  }
}

class Find implements fc.Command<Model, Real> {
  constructor(readonly g: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const g = this.g;
    run(r, function* () {
      const obj = gem(r, g);
      const lock = gemGpuvaLock(r.w.vm, obj);
      yield* lock.lock();
      const b = yield* boFind(r.w.vm, obj, "find");
      yield* lock.unlock();
      if (b !== null) yield* b.put("find");
    });
    check(m, r);
  }
  toString(): string {
    return `find(g${this.g})`;
  }
}

function commands(): fc.Arbitrary<Iterable<fc.Command<Model, Real>>> {
  const g = fc.integer({ min: 0, max: GEMS - 1 });
  const slot = fc.integer({ min: 0, max: SLOTS - 1 });
  return fc.commands(
    [
      g.map((x) => new Obtain(x)),
      fc.tuple(g, fc.boolean()).map(([x, d]) => new Put(x, d)),
      fc.tuple(slot, g).map(([s, x]) => new MapSlot(s, x)),
      fc.tuple(slot, fc.boolean()).map(([s, d]) => new Unmap(s, d)),
      fc.constant(new Cleanup()),
      g.map((x) => new Find(x)),
    ],
    { maxCommands: 25 },
  );
}

describe.each(VM_MODES)("GPUVM core model (%s)", (mode) => {
  it("random command sequences keep the invariants and refcounts, and tear down clean", () => {
    fc.assert(
      fc.property(commands(), (cmds) => {
        const sim = collectingSim();
        const w = world(sim, mode);
        const gems = Array.from({ length: GEMS }, (_, i) => w.bo(`g${i}`));
        const real: Real = { sim, mode, w, gems, maps: Array<Mapping | null>(SLOTS).fill(null) };
        const model: Model = { drvRefs: Array<number>(GEMS).fill(0), slots: Array<number | null>(SLOTS).fill(null) };
        fc.modelRun(() => ({ model, real }), cmds);
        // Tear down: unmap, put the driver's references, clean up, drop the creators'.
        for (let s = 0; s < SLOTS; s++) if (model.slots[s] !== null) new Unmap(s, false).run(model, real);
        for (let g = 0; g < GEMS; g++) while ((model.drvRefs[g] ?? 0) > 0) new Put(g, false).run(model, real);
        sim.run(function* () {
          yield* w.vm.boDeferredCleanup();
          for (const o of gems) yield* o.put("creator");
          yield* w.vm.put("creator");
          yield* w.root.put("creator");
        });
        expect(sim.reports).toEqual([]);
        expect(sim.teardown()).toEqual([]);
      }),
      { numRuns: 60, seed: 10 },
    );
  });
});
