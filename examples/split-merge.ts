/**
 * docs/split-merge.md: the ops of a map request that lands in the middle of
 * a mapping of another BO (the kernel's case 11), then of an unmap request
 * across two mappings, on a real GpuVm with real mappings. The ops name the
 * VM's Mappings (`op.remap.unmap.va`) and GemObjects (`gem.obj`).
 * Run it with `npx tsx examples/split-merge.ts`.
 */
import { GemObject, GpuVm, kfree, Mapping, Sim, type GpuVaOp, type GpuVaOpMapBody } from "../src/index.js";

const PAGE = 0x1000;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function show(b: GpuVaOpMapBody<GemObject>): string {
  return `[${hex(b.va.addr)}, +${hex(b.va.range)}) ${b.gem.obj?.name ?? "-"}@${hex(b.gem.offset)}`;
}

function describe(op: GpuVaOp<Mapping>): string {
  switch (op.op) {
    case "map":
      return `map ${show(op.map)}`;
    case "remap": {
      const r = op.remap;
      return `remap ${hex(r.unmap.va.addr)}: prev ${r.prev === null ? "none" : show(r.prev)}, next ${r.next === null ? "none" : show(r.next)}, keep ${r.unmap.keep}`;
    }
    case "unmap":
      return `unmap ${hex(op.unmap.va.addr)}, keep ${op.unmap.keep}`;
    default:
      return op.op;
  }
}

export function main(): string {
  const sim = new Sim();
  const lines: string[] = [];
  sim.run(function* () {
    const root = new GemObject(sim, { name: "root", size: PAGE });
    const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 1 << 30, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
    const a = new GemObject(sim, { name: "a", size: 0x400000 });
    const b = new GemObject(sim, { name: "b", size: 0x800000 });
    // a: [0, 3 pages) at bo_offset n = 0x100000, and [4 pages, 6 pages) at 0x200000.
    const maps = [new Mapping(sim, { addr: 0, range: 3 * PAGE, obj: a, offset: 0x100000 }), new Mapping(sim, { addr: 4 * PAGE, range: 2 * PAGE, obj: a, offset: 0x200000 })];
    for (const m of maps) yield* m.insert(vm);

    lines.push("map b over the middle page of a:");
    for (const op of vm.smMapOpsCreate({ map: { va: { addr: PAGE, range: PAGE }, gem: { obj: b, offset: 0x400000 } } })) lines.push(`  ${describe(op)}`);
    lines.push("unmap [2 pages, +3 pages):");
    for (const op of vm.smUnmapOpsCreate(2 * PAGE, 3 * PAGE)) lines.push(`  ${describe(op)}`);

    // The ops changed nothing: remove the mappings and drop every reference.
    for (const m of maps) {
      yield* m.remove();
      yield* kfree(m);
    }
    for (const o of [a, b]) yield* o.put("creator");
    yield* vm.put("creator");
    yield* root.put("creator");
  });
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("split-merge.ts") === true) console.log(main());
