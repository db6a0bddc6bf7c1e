/**
 * The split/merge cases drawn in the kernel's "Split and Merge" DOC section
 * (1-15) and its "Madvise Logic" section (M1-M5), as docs/split-merge.md
 * draws them: shared by test/drm/split-merge.test.ts (over the fake VM) and
 * test/drm/gpuvm-integration.test.ts (over a real GpuVm with real mappings
 * linked to real VmBos).
 */
import type { GpuVaOp, GpuVaOpMapBody, SmGem, SmMapReq, SmVa } from "../../src/drm/split-merge.js";

/** One unit of the DOC diagrams (0, 1, 2, 3 are multiples of it). */
export const U = 0x1000;
/** bo_offset n and m of the diagrams. */
export const N = 0x10_0000;
export const M = 0x40_0000;

export function body<G extends SmGem>(addr: number, range: number, obj: G | null, offset: number): GpuVaOpMapBody<G> {
  return { va: { addr: addr * U, range: range * U }, gem: { obj, offset } };
}
export function req<G extends SmGem>(addr: number, range: number, obj: G | null, offset: number): SmMapReq<G> {
  return { map: body(addr, range, obj, offset) };
}
export const mapOp = (b: GpuVaOpMapBody): GpuVaOp => ({ op: "map", map: b });
export const unmapOp = (va: SmVa, keep: boolean): GpuVaOp => ({ op: "unmap", unmap: { va, keep } });
export const remapOp = (prev: GpuVaOpMapBody | null, next: GpuVaOpMapBody | null, va: SmVa, keep: boolean): GpuVaOp => ({
  op: "remap",
  remap: { prev, next, unmap: { va, keep } },
});

export interface Case {
  readonly title: string;
  /** Old mappings: [addr, range, gem ("a" | "b" | null), offset]. */
  readonly old: readonly [number, number, "a" | "b" | null, number][];
  readonly req: readonly [number, number, "a" | "b" | null, number];
  /** The ops, given the old mappings (in order) and the two GEMs. */
  readonly ops: (v: (i: number) => SmVa, a: SmGem, b: SmGem) => GpuVaOp[];
  readonly result: readonly [number, number, "a" | "b" | null, number][];
  readonly madvise?: boolean;
}

/** The kernel's drawn cases (docs/split-merge.md draws each). */
export const CASES: readonly Case[] = [
  {
    title: "case 1: identical request: replace it, keep",
    old: [[0, 1, "a", N]],
    req: [0, 1, "a", N],
    ops: (v, a) => [unmapOp(v(0), true), mapOp(body(0, 1, a, N))],
    result: [[0, 1, "a", N]],
  },
  {
    title: "case 2: identical except the BO offset: replace it",
    old: [[0, 1, "a", N]],
    req: [0, 1, "a", M],
    ops: (v, a) => [unmapOp(v(0), false), mapOp(body(0, 1, a, M))],
    result: [[0, 1, "a", M]],
  },
  {
    title: "case 3: identical except the BO: replace it",
    old: [[0, 1, "a", N]],
    req: [0, 1, "b", N],
    ops: (v, _a, b) => [unmapOp(v(0), false), mapOp(body(0, 1, b, N))],
    result: [[0, 1, "b", N]],
  },
  {
    title: "case 4: old is a left-aligned subset of the request: replace it, keep",
    old: [[0, 1, "a", N]],
    req: [0, 2, "a", N],
    ops: (v, a) => [unmapOp(v(0), true), mapOp(body(0, 2, a, N))],
    result: [[0, 2, "a", N]],
  },
  {
    title: "case 4 (note): the same with another BO: replace it, no keep",
    old: [[0, 1, "a", N]],
    req: [0, 2, "b", N],
    ops: (v, _a, b) => [unmapOp(v(0), false), mapOp(body(0, 2, b, N))],
    result: [[0, 2, "b", N]],
  },
  {
    title: "case 5: request is a left-aligned subset with another BO: split, next offset adjusted",
    old: [[0, 2, "a", N]],
    req: [0, 1, "b", N],
    ops: (v, a, b) => [remapOp(null, body(1, 1, a, N + U), v(0), false), mapOp(body(0, 1, b, N))],
    result: [
      [0, 1, "b", N],
      [1, 1, "a", N + U],
    ],
  },
  {
    title: "case 6: old is a superset (left-aligned, same BO, contiguous): split, keep",
    old: [[0, 2, "a", N]],
    req: [0, 1, "a", N],
    ops: (v, a) => [remapOp(null, body(1, 1, a, N + U), v(0), true), mapOp(body(0, 1, a, N))],
    result: [
      [0, 1, "a", N],
      [1, 1, "a", N + U],
    ],
  },
  {
    title: "case 7: request is a right-aligned subset with another BO: split, offset unchanged",
    old: [[0, 2, "a", N]],
    req: [1, 1, "b", M],
    ops: (v, a, b) => [remapOp(body(0, 1, a, N), null, v(0), false), mapOp(body(1, 1, b, M))],
    result: [
      [0, 1, "a", N],
      [1, 1, "b", M],
    ],
  },
  {
    title: "case 8: old is a superset (right-aligned, same BO, contiguous): split, keep",
    old: [[0, 2, "a", N]],
    req: [1, 1, "a", N + U],
    ops: (v, a) => [remapOp(body(0, 1, a, N), null, v(0), true), mapOp(body(1, 1, a, N + U))],
    result: [
      [0, 1, "a", N],
      [1, 1, "a", N + U],
    ],
  },
  {
    title: "case 9: old overlapped at its end by another BO: split, offset unchanged",
    old: [[0, 2, "a", N]],
    req: [1, 2, "b", M],
    ops: (v, a, b) => [remapOp(body(0, 1, a, N), null, v(0), false), mapOp(body(1, 2, b, M))],
    result: [
      [0, 1, "a", N],
      [1, 2, "b", M],
    ],
  },
  {
    title: "case 10: old overlapped at its end by the same BO, contiguous: split, keep",
    old: [[0, 2, "a", N]],
    req: [1, 2, "a", N + U],
    ops: (v, a) => [remapOp(body(0, 1, a, N), null, v(0), true), mapOp(body(1, 2, a, N + U))],
    result: [
      [0, 1, "a", N],
      [1, 2, "a", N + U],
    ],
  },
  {
    title: "case 11: request centred in old, another BO: split in two, right offset adjusted",
    old: [[0, 3, "a", N]],
    req: [1, 1, "b", M],
    ops: (v, a, b) => [remapOp(body(0, 1, a, N), body(2, 1, a, N + 2 * U), v(0), false), mapOp(body(1, 1, b, M))],
    result: [
      [0, 1, "a", N],
      [1, 1, "b", M],
      [2, 1, "a", N + 2 * U],
    ],
  },
  {
    title: "case 12: request a contiguous centred subset: split in two, keep",
    old: [[0, 3, "a", N]],
    req: [1, 1, "a", N + U],
    ops: (v, a) => [remapOp(body(0, 1, a, N), body(2, 1, a, N + 2 * U), v(0), true), mapOp(body(1, 1, a, N + U))],
    result: [
      [0, 1, "a", N],
      [1, 1, "a", N + U],
      [2, 1, "a", N + 2 * U],
    ],
  },
  {
    title: "case 13: old is a right-aligned subset of the request: replace it, keep",
    old: [[1, 1, "a", N + U]],
    req: [0, 2, "a", N],
    ops: (v, a) => [unmapOp(v(0), true), mapOp(body(0, 2, a, N))],
    result: [[0, 2, "a", N]],
  },
  {
    title: "case 14: old is a centred subset of the request: replace it, keep",
    old: [[1, 1, "a", N + U]],
    req: [0, 3, "a", N],
    ops: (v, a) => [unmapOp(v(0), true), mapOp(body(0, 3, a, N))],
    result: [[0, 3, "a", N]],
  },
  {
    title: "case 15: old overlapped at its start by another BO: split, next offset adjusted (n+1: the code, not the DOC's n+2)",
    old: [[1, 2, "a", N]],
    req: [0, 2, "b", M],
    ops: (v, a, b) => [remapOp(null, body(2, 1, a, N + U), v(0), false), mapOp(body(0, 2, b, M))],
    result: [
      [0, 2, "b", M],
      [2, 1, "a", N + U],
    ],
  },
  // Madvise Logic (drm_gpuvm_madvise_ops_create), on mappings without a GEM.
  {
    title: "case M1: madvise inside one mapping: remap at both ends, then map",
    madvise: true,
    old: [[0, 4, null, 0]],
    req: [1, 2, null, 0],
    ops: (v) => [remapOp(body(0, 1, null, 0), body(3, 1, null, 3 * U), v(0), false), mapOp(body(1, 2, null, 0))],
    result: [
      [0, 1, null, 0],
      [1, 2, null, 0],
      [3, 1, null, 3 * U],
    ],
  },
  {
    title: "case M2: madvise across three mappings: two remaps and two maps, the middle one untouched",
    madvise: true,
    old: [
      [0, 2, null, 0],
      [2, 2, null, 0],
      [4, 2, null, 0],
    ],
    req: [1, 4, null, 0],
    ops: (v) => [
      remapOp(body(0, 1, null, 0), null, v(0), false),
      mapOp(body(1, 1, null, 0)),
      remapOp(null, body(5, 1, null, U), v(2), false),
      mapOp(body(4, 1, null, 0)),
    ],
    result: [
      [0, 1, null, 0],
      [1, 1, null, 0],
      [2, 2, null, 0],
      [4, 1, null, 0],
      [5, 1, null, U],
    ],
  },
  {
    title: "case M3a: madvise starting on a boundary: one remap and one map at the end",
    madvise: true,
    old: [
      [0, 2, null, 0],
      [2, 2, null, 0],
      [4, 2, null, 0],
    ],
    req: [0, 5, null, 0],
    ops: (v) => [remapOp(null, body(5, 1, null, U), v(2), false), mapOp(body(4, 1, null, 0))],
    result: [
      [0, 2, null, 0],
      [2, 2, null, 0],
      [4, 1, null, 0],
      [5, 1, null, U],
    ],
  },
  {
    title: "case M3b: madvise ending on a boundary: one remap and one map at the start",
    madvise: true,
    old: [
      [0, 2, null, 0],
      [2, 2, null, 0],
      [4, 2, null, 0],
    ],
    req: [1, 3, null, 0],
    ops: (v) => [remapOp(body(0, 1, null, 0), null, v(0), false), mapOp(body(1, 1, null, 0))],
    result: [
      [0, 1, null, 0],
      [1, 1, null, 0],
      [2, 2, null, 0],
      [4, 2, null, 0],
    ],
  },
  {
    title: "case M4: madvise on existing boundaries: no ops",
    madvise: true,
    old: [
      [0, 2, null, 0],
      [2, 2, null, 0],
    ],
    req: [0, 4, null, 0],
    ops: () => [],
    result: [
      [0, 2, null, 0],
      [2, 2, null, 0],
    ],
  },
  {
    title: "case M5: madvise over no mapping: no ops",
    madvise: true,
    old: [],
    req: [0, 4, null, 0],
    ops: () => [],
    result: [],
  },
];
