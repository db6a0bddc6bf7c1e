/** The device model's report kinds (src/report/device-kinds.ts): definitions, text, JSON, and what makes one failure. */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { reportHeadline } from "../../src/report/text.js";
import { itDefinesKinds } from "../support/report-kinds.js";
import { programs } from "./reports.js";

describe("device report kinds", () => {
  itDefinesKinds(["phys-page-still-mapped", "phys-page-double-free", "phys-page-misuse", "pt-prealloc-short", "gpu-page-fault", "dma-use-after-free", "dma-cross-owner"]);

  it("phys-page-still-mapped: names the frame, its owner and mapper; the frame number is not part of the identity", () => {
    const r = programs["phys-page-still-mapped"]() as Extract<Report, { kind: "phys-page-still-mapped" }>;
    expect(r).toMatchObject({ mem: 'PhysMem#1 "ram"', owner: "bo0 backing store", mapCount: 1, mappedBy: 'GpuPageTable#2 "vm0"', freed: { task: "main/1", op: "__free_page" } });
    expect(fingerprint({ ...r, pfn: 77 })).toBe(fingerprint(r));
  });

  it("phys-page-double-free: names both frees", () => {
    const r = programs["phys-page-double-free"]() as Extract<Report, { kind: "phys-page-double-free" }>;
    expect(r.firstFree).toMatchObject({ op: "__free_page" });
    expect(r.secondFree.step).toBeGreaterThan((r.firstFree as { step: number }).step);
  });

  it("phys-page-misuse: names the problem, the frame and the op; the frame number is not part of the identity", () => {
    const r = programs["phys-page-misuse"]() as Extract<Report, { kind: "phys-page-misuse" }>;
    expect(r).toMatchObject({ problem: "unpin-unpinned", mem: 'PhysMem#1 "ram"', site: { task: "main/1", op: "unpin_user_page" }, freedBy: null });
    expect(reportHeadline(r)).toMatch(/^BUG: gpuvm-sim: unpin of a page with no pin left: pfn \d+ of PhysMem#1 "ram"$/);
    expect(fingerprint({ ...r, pfn: 77 })).toBe(fingerprint(r));
  });

  it("pt-prealloc-short: names the table, what the map needed and what the pool held", () => {
    const r = programs["pt-prealloc-short"]() as Extract<Report, { kind: "pt-prealloc-short" }>;
    expect(r).toMatchObject({ pageTable: 'GpuPageTable#2 "vm0"', va: 0x10000, needed: 4, remaining: 0 });
  });

  it("gpu-page-fault: names the job, va, access, reason and the path so far", () => {
    const r = programs["gpu-page-fault"]() as Extract<Report, { kind: "gpu-page-fault" }>;
    expect(r).toMatchObject({ job: "draw", va: 0x200000, access: "write", reason: "not-present", path: ["pte"], task: "gpu0-sched/2" });
  });

  it("dma-use-after-free reads like KASAN: the access, path, frame and who freed it; the frame number is not part of the identity", () => {
    const r = programs["dma-use-after-free"]() as Extract<Report, { kind: "dma-use-after-free" }>;
    expect(r).toMatchObject({ job: "late", access: "write", bytes: 4096, va: 0x10000, path: ["stale-tlb"], owner: null, process: "p1", mappedBy: 'GpuPageTable#2 "vm0"', freedBy: { task: "main/1", op: "__free_page" } });
    expect(reportHeadline(r)).toMatch(/^BUG: dma-use-after-free in job late: write of 4096 bytes at va 0x10000 via stale TLB entry, frame pfn \d+ freed by __free_page in main\/1 at step \d+$/);
    expect(fingerprint({ ...r, pfn: 77 })).toBe(fingerprint(r));
  });

  it("dma-cross-owner: names the frame's owner now and its process", () => {
    const r = programs["dma-cross-owner"]() as Extract<Report, { kind: "dma-cross-owner" }>;
    expect(r).toMatchObject({ why: "reallocated", owner: "p2 anon", ownerProcess: "p2", process: "p1", path: ["stale-tlb"], access: "read" });
    expect(reportHeadline(r)).toContain("now owned by p2 anon (process p2)");
  });
});
