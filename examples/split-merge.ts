/**
 * docs/split-merge.md: the ops of a map request that lands in the middle of
 * a mapping of another BO (the kernel's case 11), then of an unmap request
 * across two mappings. The VM here is the smallest shape split/merge needs
 * (a VaTree of mappings and rangeValid); a GpuVm has the same members.
 * Run it with `npx tsx examples/split-merge.ts`.
 */
import { Sim, VaTree, smMapOpsCreate, smUnmapOpsCreate, type GpuVaOp, type GpuVaOpMapBody, type Op, type SmGem, type SmVa, type SmVm } from "../src/index.js";

const PAGE = 0x1000;

function gem(label: string): SmGem {
  // Split/merge compares GEMs by identity; a GemObject goes here.
  return { label, resv: {}, get: () => undefined, put: () => undefined } as unknown as SmGem;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function show(b: GpuVaOpMapBody): string {
  return `[${hex(b.va.addr)}, +${hex(b.va.range)}) ${b.gem.obj?.label ?? "-"}@${hex(b.gem.offset)}`;
}

function describe(op: GpuVaOp): string {
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
  const tree = new VaTree<SmVa>();
  const vm: SmVm = { sim, label: "vm", mmStart: 0, mmRange: 1 << 30, tree, ops: {}, rangeValid: (addr, range) => range > 0 && addr + range <= 1 << 30 };
  const a = gem("a");
  const b = gem("b");
  const mapping = (addr: number, range: number, obj: SmGem, offset: number): void => {
    const va: SmVa = { sim, addr, range, gem: { obj, offset }, state: "inserted", vm, insert: (): Op<void> => { throw new Error("not here"); }, remove: (): Op<void> => { throw new Error("not here"); } };
    tree.insert(addr, range, va);
  };
  mapping(0, 3 * PAGE, a, 0x100000); // a: [0, 3 pages) at bo_offset n = 0x100000
  mapping(4 * PAGE, 2 * PAGE, a, 0x200000);

  const lines = ["map b over the middle page of a:"];
  for (const op of smMapOpsCreate(vm, { map: { va: { addr: PAGE, range: PAGE }, gem: { obj: b, offset: 0x400000 } } })) lines.push(`  ${describe(op)}`);
  lines.push("unmap [2 pages, +3 pages):");
  for (const op of smUnmapOpsCreate(vm, 2 * PAGE, 3 * PAGE)) lines.push(`  ${describe(op)}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("split-merge.ts") === true) console.log(main());
