/**
 * Split and merge (src/drm/split-merge.ts) over a fake VM (the real VaTree,
 * fake mappings: test/support/fake-sm-vm.ts).
 *
 * - Every case drawn in the kernel's "Split and Merge" DOC section (1-15)
 *   and its "Madvise Logic" section (M1-M5), as docs/split-merge.md draws
 *   them: the old layout, the request, the ops emitted (exactly, in order),
 *   and the layout after applying them with the apply helpers, both from
 *   smMapOpsCreate and from smMap's callbacks applying each step at once.
 * - Several overlapped mappings, mappings without a GEM, the kernel-reserved
 *   range, unmap (ops and callbacks), prefetch, boUnmap.
 * - Aborting callbacks (first, middle, last step), generator callbacks
 *   yielding effects, missing callbacks.
 * - exec-lock: which objects get locked.
 * - fast-check: applying the ops of random requests gives the tree a naive
 *   interval oracle gives, for map and unmap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { access, ArgumentError, DrmExec, type Effect, type Sim } from "../../src/index.js";
import {
  boUnmapOpsCreate,
  gpuvaMap,
  gpuvaRemap,
  gpuvaUnmap,
  madviseOpsCreate,
  prefetchOpsCreate,
  smMap,
  smMapExecLock,
  smMapOpsCreate,
  smUnmap,
  smUnmapExecLock,
  smUnmapOpsCreate,
  type GpuVaOp,
  type SmGem,
  type SmMapReq,
  type SmOps,
} from "../../src/drm/split-merge.js";
import { main as splitMergeExample } from "../../examples/split-merge.js";
import { collectingSim } from "../support/collecting-sim.js";
import { FakeGem, FakeVa, FakeVm, FakeVmBo } from "../support/fake-sm-vm.js";
import { body, CASES, M, mapOp, N, remapOp, req, U, unmapOp, type Case } from "../support/sm-cases.js";

/** `x`, which the test knows is there. */
function must<T>(x: T | undefined): T {
  if (x === undefined) throw new Error("missing");
  return x;
}

/** Apply `ops` in a task with the apply helpers (as the kernel's DOC "Examples" 1). */
function* applyOps(sim: Sim, vm: FakeVm, ops: readonly GpuVaOp[]): Generator<Effect, void, unknown> {
  for (const op of ops) yield* applyOne(sim, vm, op);
}
function* applyOne(sim: Sim, vm: FakeVm, op: GpuVaOp): Generator<Effect, void, unknown> {
  switch (op.op) {
    case "map":
      yield* gpuvaMap(vm, FakeVa.fromOp(sim, op.map), op.map);
      break;
    case "remap": {
      const r = op.remap;
      const prev = r.prev === null ? null : FakeVa.fromOp(sim, r.prev);
      const next = r.next === null ? null : FakeVa.fromOp(sim, r.next);
      yield* gpuvaRemap(prev, next, r as never);
      break;
    }
    case "unmap":
      yield* gpuvaUnmap(op.unmap as never);
      break;
    default:
      break;
  }
}

/** A VM whose callbacks record each op and apply it at once (the DOC's "Examples" 2). */
function applyingOps(sim: Sim, vm: FakeVm, seen: GpuVaOp[]): SmOps<FakeVa> {
  return {
    *smStepMap(op) {
      seen.push(op);
      yield* applyOne(sim, vm, op);
    },
    *smStepRemap(op) {
      seen.push(op);
      yield* applyOne(sim, vm, op);
    },
    *smStepUnmap(op) {
      seen.push(op);
      yield* applyOne(sim, vm, op);
    },
  };
}

type Row = [number, number, string, number];
const row = (addr: number, range: number, gem: FakeGem | null, offset: number): Row => [addr * U, range * U, gem === null ? "-" : gem.label, offset];

function setup(c: Case): { sim: Sim; vm: FakeVm; a: FakeGem; b: FakeGem; olds: FakeVa[]; r: SmMapReq } {
  const sim = collectingSim();
  const vm = new FakeVm(sim);
  const a = new FakeGem(sim, "a");
  const b = new FakeGem(sim, "b");
  const gem = (g: "a" | "b" | null): FakeGem | null => (g === "a" ? a : g === "b" ? b : null);
  const olds = c.old.map(([addr, range, g, off]) => vm.place(addr * U, range * U, gem(g), off));
  const r = req(c.req[0], c.req[1], gem(c.req[2]), c.req[3]);
  return { sim, vm, a, b, olds, r };
}

function expectedRows(c: Case, a: FakeGem, b: FakeGem): Row[] {
  return c.result.map(([addr, range, g, off]) => row(addr, range, g === "a" ? a : g === "b" ? b : null, off));
}

describe("split/merge: the kernel's drawn cases (docs/split-merge.md)", () => {
  for (const c of CASES) {
    it(`${c.title}: the ops, in order`, () => {
      const { vm, a, b, olds, r } = setup(c);
      const ops = c.madvise === true ? madviseOpsCreate(vm, r) : smMapOpsCreate(vm, r);
      expect(ops).toEqual(c.ops((i) => must(olds[i]), a, b));
      for (const [i, op] of ops.entries()) {
        const want = must(c.ops((i) => must(olds[i]), a, b)[i]);
        if (op.op === "unmap" && want.op === "unmap") expect(op.unmap.va).toBe(want.unmap.va);
        if (op.op === "remap" && want.op === "remap") expect(op.remap.unmap.va).toBe(want.remap.unmap.va);
      }
    });

    it(`${c.title}: applying the ops gives the drawn result`, () => {
      const { sim, vm, a, b, r } = setup(c);
      const ops = c.madvise === true ? madviseOpsCreate(vm, r) : smMapOpsCreate(vm, r);
      sim.run(() => applyOps(sim, vm, ops));
      expect(vm.layout()).toEqual(expectedRows(c, a, b));
      expect(vm.refs).toBe(c.result.length);
      expect(sim.reports).toEqual([]);
    });

    if (c.madvise !== true) {
      it(`${c.title}: smMap calls the callbacks with the same ops, applying each at once`, () => {
        const { sim, vm, a, b, olds, r } = setup(c);
        const seen: GpuVaOp[] = [];
        vm.ops = applyingOps(sim, vm, seen);
        const result = sim.run(() => smMap(vm, r, "priv"));
        expect(result).toBe("ok");
        expect(seen).toEqual(c.ops((i) => must(olds[i]), a, b));
        expect(vm.layout()).toEqual(expectedRows(c, a, b));
        expect(sim.reports).toEqual([]);
      });
    }
  }
});

describe("split/merge: more cases", () => {
  it("map over several mappings: remap the first, unmap those inside, remap the last, then map", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    const b = new FakeGem(sim, "b");
    const v0 = vm.place(0, 2 * U, a, 0);
    const v1 = vm.place(2 * U, U, b, 0);
    vm.place(3 * U, U, null, 0); // no GEM: never merged
    const v3 = vm.place(5 * U, 3 * U, a, 5 * U);
    const v2 = must(vm.tree.findContaining(3 * U));
    const ops = smMapOpsCreate(vm, req(1, 5, a, U));
    expect(ops).toEqual([
      remapOp(body(0, 1, a, 0), null, v0, true),
      unmapOp(v1, false),
      unmapOp(v2, false),
      remapOp(null, body(6, 2, a, 6 * U), v3, true),
      mapOp(body(1, 5, a, U)),
    ]);
    sim.run(() => applyOps(sim, vm, ops));
    expect(vm.layout()).toEqual([row(0, 1, a, 0), row(1, 5, a, U), row(6, 2, a, 6 * U)]);
  });

  it("map over a gap and mappings without a GEM: keep is false for them, the map covers the gap", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const s0 = vm.place(U, U);
    const s1 = vm.place(4 * U, 2 * U);
    const ops = smMapOpsCreate(vm, req(0, 5, null, 0));
    expect(ops).toEqual([unmapOp(s0, false), remapOp(null, body(5, 1, null, U), s1, false), mapOp(body(0, 5, null, 0))]);
  });

  it("a request over nothing is one map op", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    vm.place(10 * U, U, a, 0);
    expect(smMapOpsCreate(vm, req(0, 10, a, 0))).toEqual([mapOp(body(0, 10, a, 0))]);
  });

  it("madvise leaves mappings backed by a GEM alone (the kernel's code)", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    vm.place(0, 4 * U, a, 0);
    expect(madviseOpsCreate(vm, req(1, 2, null, 0))).toEqual([]);
  });

  it("unmap: remap at a partial start, unmap inside, remap at a partial end, keep false; prev/next offsets adjusted", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    const v0 = vm.place(0, 2 * U, a, N);
    const v1 = vm.place(2 * U, U, null, 0);
    const v2 = vm.place(4 * U, 4 * U, a, M);
    const ops = smUnmapOpsCreate(vm, U, 5 * U);
    expect(ops).toEqual([remapOp(body(0, 1, a, N), null, v0, false), unmapOp(v1, false), remapOp(null, body(6, 2, a, M + 2 * U), v2, false)]);
    sim.run(() => applyOps(sim, vm, ops));
    expect(vm.layout()).toEqual([row(0, 1, a, N), row(6, 2, a, M + 2 * U)]);
  });

  it("unmap of the middle of one mapping: one remap with both remainders", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    const v = vm.place(0, 3 * U, a, N);
    expect(smUnmapOpsCreate(vm, U, U)).toEqual([remapOp(body(0, 1, a, N), body(2, 1, a, N + 2 * U), v, false)]);
  });

  it("smUnmap calls the callbacks with the same ops", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    vm.place(0, 2 * U, a, 0);
    vm.place(2 * U, 2 * U, a, 2 * U);
    const want = smUnmapOpsCreate(vm, U, 2 * U);
    const seen: GpuVaOp[] = [];
    vm.ops = applyingOps(sim, vm, seen);
    expect(sim.run(() => smUnmap(vm, U, 2 * U))).toBe("ok");
    expect(seen).toEqual(want);
    expect(vm.layout()).toEqual([row(0, 1, a, 0), row(3, 1, a, 3 * U)]);
  });

  it("prefetch: one op per overlapping mapping, address order", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const v0 = vm.place(0, 2 * U);
    const v1 = vm.place(3 * U, U);
    vm.place(8 * U, U);
    expect(prefetchOpsCreate(vm, U, 3 * U)).toEqual([
      { op: "prefetch", prefetch: { va: v0 } },
      { op: "prefetch", prefetch: { va: v1 } },
    ]);
  });

  it("boUnmap: one unmap op per linked mapping, link order, keep false; asserts the GEM's gpuva lock", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    const vmBo = new FakeVmBo(sim, vm, a);
    const v1 = vm.place(4 * U, U, a, 0);
    const v0 = vm.place(0, U, a, U);
    vmBo.vas.push(v1, v0);
    expect(boUnmapOpsCreate(vmBo)).toEqual([unmapOp(v1, false), unmapOp(v0, false)]);
    expect(vmBo.asserted).toBe(1);
  });

  it("the walk never reaches the kernel-reserved range: a request touching it is refused", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim, "vm", { reserveOffset: 0, reserveRange: U });
    expect(() => smMapOpsCreate(vm, req(0, 2, null, 0))).toThrow(expect.objectContaining({ argument: "req.map.va.range" }));
    expect(() => smUnmapOpsCreate(vm, 0, 2 * U)).toThrow(expect.objectContaining({ argument: "range" }));
    expect(smUnmapOpsCreate(vm, U, 2 * U)).toEqual([]);
  });
});

describe("split/merge: callbacks", () => {
  function threeMappings(): { sim: Sim; vm: FakeVm; a: FakeGem } {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    vm.place(0, 2 * U, a, 0); // remap (prev)
    vm.place(2 * U, U, a, 0); // unmap
    vm.place(3 * U, 2 * U, a, 0); // remap (next)
    return { sim, vm, a };
  }

  for (const [where, at] of [
    ["first", 0],
    ["middle", 1],
    ["last", 3],
  ] as const) {
    it(`an error from the ${where} step aborts the walk, is returned, and no later step runs`, () => {
      const { sim, vm, a } = threeMappings();
      const seen: string[] = [];
      const step = (name: string) => (): string | undefined => {
        seen.push(name);
        return seen.length - 1 === at ? "nomem" : undefined;
      };
      vm.ops = { smStepMap: step("map"), smStepRemap: step("remap"), smStepUnmap: step("unmap") };
      expect(sim.run(() => smMap(vm, req(1, 3, a, 0)))).toBe("nomem");
      expect(seen).toEqual(["remap", "unmap", "remap", "map"].slice(0, at + 1));
    });
  }

  it("an error from smUnmap's middle step is returned", () => {
    const { sim, vm } = threeMappings();
    const seen: string[] = [];
    vm.ops = {
      smStepRemap: () => {
        seen.push("remap");
      },
      smStepUnmap: () => (seen.push("unmap"), "busy"),
    };
    expect(sim.run(() => smUnmap(vm, U, 3 * U))).toBe("busy");
    expect(seen).toEqual(["remap", "unmap"]);
  });

  it("callbacks may be generators yielding effects, get priv, and may return 'ok'", () => {
    const { sim, vm, a } = threeMappings();
    const priv = { calls: 0 };
    sim.share(priv);
    vm.ops = {
      *smStepMap(_op, p) {
        yield* access(p as object, "write");
        (p as typeof priv).calls++;
        return "ok";
      },
      *smStepRemap(_op, p) {
        yield* access(p as object, "write");
        (p as typeof priv).calls++;
      },
      smStepUnmap: (_op, p) => {
        (p as typeof priv).calls++;
      },
    };
    expect(sim.run(() => smMap(vm, req(1, 3, a, 0), priv))).toBe("ok");
    expect(priv.calls).toBe(4);
  });

  it("a callback returning something else than a string is a UsageError in the task", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const vm = new FakeVm(sim);
    vm.place(0, U);
    vm.ops = { smStepMap: () => undefined, smStepRemap: () => undefined, smStepUnmap: () => 0 as never };
    expect(() => sim.run(() => smMap(vm, req(0, 1, null, 0)))).toThrow(/smStepUnmap returned/);
  });

  for (const missing of ["smStepMap", "smStepRemap", "smStepUnmap"] as const) {
    it(`smMap without ${missing}: ArgumentError naming vm.ops.${missing}, thrown at the call`, () => {
      const sim = collectingSim();
      const vm = new FakeVm(sim);
      const all: SmOps<FakeVa> = { smStepMap: () => undefined, smStepRemap: () => undefined, smStepUnmap: () => undefined };
      vm.ops = Object.fromEntries(Object.entries(all).filter(([k]) => k !== missing));
      expect(() => smMap(vm, req(0, 1, null, 0))).toThrow(ArgumentError);
      expect(() => smMap(vm, req(0, 1, null, 0))).toThrow(expect.objectContaining({ argument: `vm.ops.${missing}` }));
    });
  }

  it("smUnmap needs no smStepMap, but smStepRemap and smStepUnmap", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    vm.ops = { smStepRemap: () => undefined, smStepUnmap: () => undefined };
    expect(sim.run(() => smUnmap(vm, 0, U))).toBe("ok");
    vm.ops = { smStepRemap: () => undefined };
    expect(() => smUnmap(vm, 0, U)).toThrow(expect.objectContaining({ argument: "vm.ops.smStepUnmap" }));
  });
});

describe("split/merge: exec-lock", () => {
  it("smMapExecLock prepares the request's GEM, then locks the GEM of each mapping remapped or unmapped", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    const b = new FakeGem(sim, "b");
    const c = new FakeGem(sim, "c");
    vm.place(0, 2 * U, b, 0);
    vm.place(2 * U, U, null, 0);
    vm.place(3 * U, 2 * U, c, 0);
    vm.place(8 * U, U, a, 0); // outside the request: not locked
    const locked = sim.run(function* () {
      const exec = new DrmExec<SmGem>(sim, { ignoreDuplicates: true });
      const r = yield* exec.untilAllLocked(function* () {
        return yield* smMapExecLock(vm, exec, 2, req(1, 3, a, 0));
      });
      expect(r).toBe("ok");
      const objs = exec.objects().map((o) => o.label);
      yield* exec.fini();
      return objs;
    });
    expect(locked).toEqual([a.label, b.label, c.label]);
    expect(sim.reports).toEqual([]);
  });

  it("smUnmapExecLock locks the GEMs smUnmap would touch, skipping mappings without one", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    const b = new FakeGem(sim, "b");
    vm.place(0, 2 * U, b, 0);
    vm.place(2 * U, U, null, 0);
    vm.place(3 * U, 2 * U, a, 0);
    const locked = sim.run(function* () {
      const exec = new DrmExec<SmGem>(sim, { ignoreDuplicates: true });
      const r = yield* exec.untilAllLocked(() => smUnmapExecLock(vm, exec, U, 3 * U));
      expect(r).toBe("ok");
      const objs = exec.objects().map((o) => o.label);
      yield* exec.fini();
      return objs;
    });
    expect(locked).toEqual([b.label, a.label]);
  });

  it("without ignoreDuplicates a GEM met twice ends the walk with already-held", () => {
    const sim = collectingSim();
    const vm = new FakeVm(sim);
    const a = new FakeGem(sim, "a");
    vm.place(0, 2 * U, a, 0);
    vm.place(2 * U, 2 * U, a, 0);
    const r = sim.run(function* () {
      const exec = new DrmExec<SmGem>(sim);
      const res = yield* exec.untilAllLocked(() => smUnmapExecLock(vm, exec, U, 2 * U));
      yield* exec.fini();
      return res;
    });
    expect(r).toBe("already-held");
  });
});

// --- fast-check: the ops against a naive interval oracle ------------------

interface Seg { addr: number; end: number; gem: number; offset: number }

/** Subtract [a, e) from segs: cut what overlaps, keeping offsets consistent. */
function subtract(segs: readonly Seg[], a: number, e: number): Seg[] {
  const out: Seg[] = [];
  for (const s of segs) {
    if (s.end <= a || s.addr >= e) {
      out.push(s);
      continue;
    }
    if (s.addr < a) out.push({ addr: s.addr, end: a, gem: s.gem, offset: s.offset });
    if (s.end > e) out.push({ addr: e, end: s.end, gem: s.gem, offset: s.offset + (e - s.addr) * U });
  }
  return out.sort((x, y) => x.addr - y.addr);
}

const SPAN = 64;
const segsArb = fc
  .uniqueArray(fc.integer({ min: 0, max: SPAN - 1 }), { minLength: 0, maxLength: 12 })
  .chain((cuts) => {
    const points = [...cuts].sort((x, y) => x - y);
    return fc.tuple(
      fc.constant(points),
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: -1, max: 1 }), fc.integer({ min: 0, max: 8 })), { minLength: points.length, maxLength: points.length }),
    );
  })
  .map(([points, attrs]) => {
    const segs: Seg[] = [];
    for (let i = 0; i < points.length; i++) {
      const [present, gem, off] = must(attrs[i]);
      const end = i + 1 < points.length ? must(points[i + 1]) : SPAN;
      if (present) segs.push({ addr: must(points[i]), end, gem, offset: off * U });
    }
    return segs;
  });
const reqArb = fc
  .tuple(fc.integer({ min: 0, max: SPAN - 1 }), fc.integer({ min: 1, max: SPAN }), fc.integer({ min: -1, max: 1 }), fc.integer({ min: 0, max: 8 }))
  .map(([addr, len, gem, off]) => ({ addr, range: Math.min(len, SPAN - addr), gem, offset: off * U }));

function build(segs: readonly Seg[]): { sim: Sim; vm: FakeVm; gems: FakeGem[] } {
  const sim = collectingSim();
  const vm = new FakeVm(sim, "vm", { mmRange: SPAN * U });
  const gems = [new FakeGem(sim, "g0"), new FakeGem(sim, "g1")];
  for (const s of segs) vm.place(s.addr * U, (s.end - s.addr) * U, s.gem < 0 ? null : must(gems[s.gem]), s.offset);
  return { sim, vm, gems };
}

function rowsOf(segs: readonly Seg[], gems: readonly FakeGem[]): Row[] {
  return segs.map((s) => [s.addr * U, (s.end - s.addr) * U, s.gem < 0 ? "-" : must(gems[s.gem]).label, s.offset]);
}

describe("split/merge: properties against an interval oracle", () => {
  it("applying smMapOpsCreate's ops gives (old minus the request) plus the request", () => {
    fc.assert(
      fc.property(segsArb, reqArb, (segs, r) => {
        const { sim, vm, gems } = build(segs);
        const obj = r.gem < 0 ? null : must(gems[r.gem]);
        const ops = smMapOpsCreate(vm, req(r.addr, r.range, obj, r.offset));
        // At most two remaps, exactly one map, last.
        expect(ops.filter((o) => o.op === "remap").length).toBeLessThanOrEqual(2);
        expect(ops.at(-1)?.op).toBe("map");
        sim.run(() => applyOps(sim, vm, ops));
        const want = subtract(segs, r.addr, r.addr + r.range);
        want.push({ addr: r.addr, end: r.addr + r.range, gem: r.gem, offset: r.offset });
        want.sort((x, y) => x.addr - y.addr);
        expect(vm.layout()).toEqual(rowsOf(want, gems));
        expect(vm.refs).toBe(want.length);
        expect(vm.tree.checkInvariants()).toEqual([]);
      }),
      { seed: 10, numRuns: 300 },
    );
  });

  it("applying smUnmapOpsCreate's ops gives old minus the range", () => {
    fc.assert(
      fc.property(segsArb, reqArb, (segs, r) => {
        const { sim, vm, gems } = build(segs);
        const ops = smUnmapOpsCreate(vm, r.addr * U, r.range * U);
        expect(ops.every((o) => o.op !== "map" && (o.op === "remap" ? !o.remap.unmap.keep : o.op === "unmap" && !o.unmap.keep))).toBe(true);
        sim.run(() => applyOps(sim, vm, ops));
        expect(vm.layout()).toEqual(rowsOf(subtract(segs, r.addr, r.addr + r.range), gems));
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it("keep is set exactly when the old mapping's GEM and offsets line up with the request's", () => {
    fc.assert(
      fc.property(segsArb, reqArb, (segs, r) => {
        const { vm, gems } = build(segs);
        const obj = r.gem < 0 ? null : must(gems[r.gem]);
        const reqAddr = r.addr * U;
        for (const op of smMapOpsCreate(vm, req(r.addr, r.range, obj, r.offset))) {
          if (op.op === "map") continue;
          const u = op.op === "remap" ? op.remap.unmap : op.op === "unmap" ? op.unmap : null;
          if (u === null) continue;
          const va = u.va;
          const lined = va.gem.obj !== null && va.gem.obj === obj && va.gem.offset - va.addr === r.offset - reqAddr;
          expect(u.keep).toBe(lined);
        }
      }),
      { seed: 12, numRuns: 300 },
    );
  });

  it("smMap with applying callbacks emits the ops smMapOpsCreate lists, and the same tree results", () => {
    fc.assert(
      fc.property(segsArb, reqArb, (segs, r) => {
        const { sim, vm, gems } = build(segs);
        const obj = r.gem < 0 ? null : must(gems[r.gem]);
        const rq = req(r.addr, r.range, obj, r.offset);
        const want = smMapOpsCreate(vm, rq);
        const seen: GpuVaOp[] = [];
        vm.ops = applyingOps(sim, vm, seen);
        expect(sim.run(() => smMap(vm, rq))).toBe("ok");
        expect(seen).toEqual(want);
      }),
      { seed: 13, numRuns: 200 },
    );
  });
});

describe("docs/split-merge.md example", () => {
  it("case 11's ops, then an unmap across two mappings", () => {
    expect(splitMergeExample()).toBe(
      [
        "map b over the middle page of a:",
        "  remap 0x0: prev [0x0, +0x1000) a@0x100000, next [0x2000, +0x1000) a@0x102000, keep false",
        "  map [0x1000, +0x1000) b@0x400000",
        "unmap [2 pages, +3 pages):",
        "  remap 0x0: prev [0x0, +0x2000) a@0x100000, next none, keep false",
        "  remap 0x4000: prev none, next [0x5000, +0x1000) a@0x201000, keep false",
      ].join("\n"),
    );
  });
});
