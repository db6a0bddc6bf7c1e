/**
 * Split/merge requests over a VM holding 100,000 mappings (issue 10's
 * second benchmark; requests per second).
 *
 * Layout: 100,000 mappings of 1 to 4 pages, each followed by a gap of 0 to
 * 2 pages, backed by 8 GEMs (one in 8 without a GEM) at offsets that make
 * neighbours contiguous half of the time. Requests: REQUESTS of them from
 * a fixed seed, 80 % map (1 to REQ_PAGES pages, a GEM or none, an offset that
 * lines up with what is there half of the time) and 20 % unmap (1 to
 * REQ_PAGES pages), each at a random page of the VA space.
 *
 * Two figures, each the median of RUNS runs on a fresh copy of the layout:
 * - ops-create + apply: smMapOpsCreate / smUnmapOpsCreate, then the ops
 *   applied to the tree directly (remove, insert of the remainders and of
 *   the new mapping), outside any task: the walk's own cost.
 * - smMap / smUnmap in one task, the callbacks applying each step (plain
 *   functions, no effects): adds the op and callback machinery.
 * - a real GpuVm: the same layout as Mapping objects inserted in a GpuVm,
 *   the first REAL_REQUESTS requests through vm.smMap / vm.smUnmap with a
 *   driver's step callbacks (Mapping.fromOp, gpuvaMap / gpuvaRemap /
 *   gpuvaUnmap, kfree of the replaced mapping): every tree change a step of
 *   the simulation, with its effect, footprint and refcount checks.
 * All print the ops emitted and the mapping count at the end, which must
 * agree (a mismatch throws).
 */
import {
  GemObject,
  GpuVm,
  gpuvaMap,
  gpuvaRemap,
  gpuvaUnmap,
  kfree,
  Mapping,
  Sim,
  VaTree,
  type Effect,
  type Op,
  smMap,
  smMapOpsCreate,
  smUnmap,
  smUnmapOpsCreate,
  type GpuVaOp,
  type GpuVaOpMapBody,
  type SmGem,
  type SmOps,
  type SmVa,
  type SmVm,
} from "../../src/index.js";
import { median, untargeted, type Entry } from "../harness.js";

const MAPPINGS = 100_000;
const REQUESTS = 100_000;
const PAGE = 0x1000;
const RUNS = 3;
const SEED = 0x5e11_7e57;
/** Requests span 1 to REQ_PAGES pages: chosen so the mapping count stays near 100,000 (splits and merges balance). */
const REQ_PAGES = 8;
/** Requests of the real-GpuVm figure: the first ones of the same stream (each is several simulated steps). */
const REAL_REQUESTS = 20_000;

/** xorshift32: a fixed stream for the layout and the requests. */
class Rng {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

/** A bench mapping: the fields the walk reads; insert / remove are applied to the tree directly here. */
class BenchVa implements SmVa {
  state: "prepared" | "inserted" | "removed" = "inserted";
  readonly vm = null;
  readonly gem: { readonly obj: SmGem | null; readonly offset: number };
  constructor(
    readonly sim: Sim,
    readonly addr: number,
    readonly range: number,
    obj: SmGem | null,
    offset: number,
  ) {
    this.gem = { obj, offset };
  }
  insert(): Op<void> {
    throw new Error("bench mappings are applied directly");
  }
  remove(): Op<void> {
    throw new Error("bench mappings are applied directly");
  }
}

class BenchVm implements SmVm<BenchVa> {
  readonly label = "bench-vm";
  readonly mmStart = 0;
  readonly tree = new VaTree<BenchVa>();
  ops: SmOps<BenchVa> = {};
  constructor(
    readonly sim: Sim,
    readonly mmRange: number,
  ) {}
  rangeValid(addr: number, range: number): boolean {
    return range > 0 && addr >= 0 && addr + range <= this.mmRange;
  }
}

/** The GEMs: only identity matters to the walk; the request check wants the shape of one (resv, get, put). */
function gems(): SmGem[] {
  return Array.from({ length: 8 }, (_, i) => ({ label: `gem${i}`, resv: {}, get: () => undefined, put: () => undefined }) as unknown as SmGem);
}

interface Layout {
  readonly rows: [addr: number, range: number, gem: number, offset: number][];
  readonly span: number;
}

function layout(rng: Rng): Layout {
  const rows: Layout["rows"] = [];
  let addr = 0;
  for (let i = 0; i < MAPPINGS; i++) {
    const range = (1 + rng.below(4)) * PAGE;
    const gem = rng.below(8) - 1; // -1: no GEM
    // Half of the time, contiguous with an imagined linear GEM layout (offset = addr).
    const offset = rng.below(2) === 0 ? addr : rng.below(64) * PAGE;
    rows.push([addr, range, gem, offset]);
    addr += range + rng.below(3) * PAGE;
  }
  return { rows, span: addr };
}

interface Request {
  readonly unmap: boolean;
  readonly addr: number;
  readonly range: number;
  readonly gem: number;
  readonly offset: number;
}

function requests(rng: Rng, span: number): Request[] {
  const out: Request[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const unmap = rng.below(10) < 2;
    const range = (1 + rng.below(REQ_PAGES)) * PAGE;
    const addr = rng.below(span / PAGE - REQ_PAGES) * PAGE;
    const gem = rng.below(8) - 1;
    const offset = rng.below(2) === 0 ? addr : rng.below(64) * PAGE;
    out.push({ unmap, addr, range, gem, offset });
  }
  return out;
}

function build(sim: Sim, l: Layout, g: readonly SmGem[]): BenchVm {
  const vm = new BenchVm(sim, l.span + 32 * PAGE);
  for (const [addr, range, gem, offset] of l.rows) vm.tree.insert(addr, range, new BenchVa(sim, addr, range, gem < 0 ? null : (g[gem] as SmGem), offset));
  return vm;
}

function place(vm: BenchVm, b: GpuVaOpMapBody): void {
  vm.tree.insert(b.va.addr, b.va.range, new BenchVa(vm.sim, b.va.addr, b.va.range, b.gem.obj, b.gem.offset));
}

/** Apply one op to the tree, as drm_gpuva_map / _remap / _unmap would. */
function apply(vm: BenchVm, op: GpuVaOp<BenchVa>): void {
  switch (op.op) {
    case "map":
      place(vm, op.map);
      break;
    case "remap":
      vm.tree.remove(op.remap.unmap.va.addr);
      op.remap.unmap.va.state = "removed";
      if (op.remap.prev !== null) place(vm, op.remap.prev);
      if (op.remap.next !== null) place(vm, op.remap.next);
      break;
    case "unmap":
      vm.tree.remove(op.unmap.va.addr);
      op.unmap.va.state = "removed";
      break;
    default:
      break;
  }
}

function toReq(r: Request, g: readonly SmGem[]): { map: GpuVaOpMapBody } {
  return { map: { va: { addr: r.addr, range: r.range }, gem: { obj: r.gem < 0 ? null : (g[r.gem] as SmGem), offset: r.offset } } };
}

interface RunResult {
  readonly seconds: number;
  readonly ops: number;
  readonly mappings: number;
}

function runOpsCreate(l: Layout, reqs: readonly Request[], g: readonly SmGem[]): RunResult {
  const sim = new Sim();
  const vm = build(sim, l, g);
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  let ops = 0;
  for (const r of reqs) {
    const list = r.unmap ? smUnmapOpsCreate(vm, r.addr, r.range) : smMapOpsCreate(vm, toReq(r, g));
    ops += list.length;
    for (const op of list) apply(vm, op);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, ops, mappings: vm.tree.size };
}

function runCallbacks(l: Layout, reqs: readonly Request[], g: readonly SmGem[]): RunResult {
  const sim = new Sim();
  const vm = build(sim, l, g);
  let ops = 0;
  const step = (op: GpuVaOp<BenchVa>): undefined => {
    ops++;
    apply(vm, op);
    return undefined;
  };
  vm.ops = { smStepMap: step, smStepRemap: step, smStepUnmap: step };
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  sim.run(function* () {
    for (const r of reqs) {
      const res = r.unmap ? yield* smUnmap(vm, r.addr, r.range) : yield* smMap(vm, toReq(r, g));
      if (res !== "ok") throw new Error(`bench request failed: ${res}`);
    }
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, ops, mappings: vm.tree.size };
}

/** The same layout and requests over a real GpuVm, in one task: only the requests are timed. */
function runRealVm(l: Layout, reqs: readonly Request[]): RunResult {
  const sim = new Sim();
  let ops = 0;
  let seconds = 0;
  let mappings = 0;
  sim.run(function* () {
    const root = new GemObject(sim, { name: "root", size: PAGE });
    // External GEMs, large enough for any offset the stream asks for.
    const g = Array.from({ length: 8 }, (_, i) => new GemObject(sim, { name: `gem${i}`, size: 2 ** 40 }));
    function* stepMap(op: Parameters<NonNullable<GpuVm["ops"]["smStepMap"]>>[0]): Generator<Effect, undefined, unknown> {
      ops++;
      yield* gpuvaMap(vm, Mapping.fromOp(sim, op), op.map);
      return undefined;
    }
    function* stepRemap(op: Parameters<NonNullable<GpuVm["ops"]["smStepRemap"]>>[0]): Generator<Effect, undefined, unknown> {
      ops++;
      const r = op.remap;
      const prev = r.prev === null ? null : Mapping.fromOp(sim, { map: r.prev });
      const next = r.next === null ? null : Mapping.fromOp(sim, { map: r.next });
      yield* gpuvaRemap(prev, next, r);
      yield* kfree(r.unmap.va);
      return undefined;
    }
    function* stepUnmap(op: Parameters<NonNullable<GpuVm["ops"]["smStepUnmap"]>>[0]): Generator<Effect, undefined, unknown> {
      ops++;
      yield* gpuvaUnmap(op.unmap);
      yield* kfree(op.unmap.va);
      return undefined;
    }
    const vm = GpuVm.create(sim, {
      name: "bench",
      mmStart: 0,
      mmRange: l.span + 32 * PAGE,
      resvObj: root,
      ops: { vmFree: (v) => kfree(v), smStepMap: stepMap, smStepRemap: stepRemap, smStepUnmap: stepUnmap },
    });
    for (const [addr, range, gem, offset] of l.rows) {
      yield* new Mapping(sim, { addr, range, obj: gem < 0 ? null : (g[gem] as GemObject), offset }).insert(vm);
    }
    globalThis.gc?.();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < REAL_REQUESTS; i++) {
      const r = reqs[i] as Request;
      const req = { map: { va: { addr: r.addr, range: r.range }, gem: { obj: r.gem < 0 ? null : (g[r.gem] as GemObject), offset: r.offset } } };
      const res = r.unmap ? yield* vm.smUnmap(r.addr, r.range) : yield* vm.smMap(req);
      if (res !== "ok") throw new Error(`bench request failed: ${res}`);
    }
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    mappings = vm.tree.size;
  });
  return { seconds, ops, mappings };
}

export function splitMergeWorkloads(): Entry[] {
  const rng = new Rng(SEED);
  const l = layout(rng);
  const reqs = requests(rng, l.span);
  const g = gems();
  runOpsCreate(l, reqs, g); // warm-up
  runCallbacks(l, reqs, g);
  const a: RunResult[] = [];
  const b: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(runOpsCreate(l, reqs, g));
    b.push(runCallbacks(l, reqs, g));
  }
  const first = a[0] as RunResult;
  for (const r of [...a, ...b]) {
    if (r.ops !== first.ops || r.mappings !== first.mappings) throw new Error(`split/merge bench: runs disagree (${r.ops} ops, ${r.mappings} mappings vs ${first.ops}, ${first.mappings})`);
  }
  const rate = (rs: readonly RunResult[]): number => REQUESTS / median(rs.map((r) => r.seconds));
  const real = runRealVm(l, reqs);
  return [
    untargeted(`split/merge ${REQUESTS / 1000}k req / ${MAPPINGS / 1000}k maps: ops-create`, [
      { label: "requests", value: rate(a), unit: "req/s" },
      { label: "ops emitted (checksum)", value: first.ops, unit: "ops" },
      { label: "mappings at the end (checksum)", value: first.mappings, unit: "mappings" },
    ]),
    untargeted(`split/merge: smMap/smUnmap callbacks`, [{ label: "requests", value: rate(b), unit: "req/s" }]),
    untargeted(`split/merge: real GpuVm, first ${REAL_REQUESTS / 1000}k req`, [
      { label: "requests", value: REAL_REQUESTS / real.seconds, unit: "req/s" },
      { label: "ops emitted (checksum)", value: real.ops, unit: "ops" },
      { label: "mappings at the end (checksum)", value: real.mappings, unit: "mappings" },
    ]),
  ];
}
