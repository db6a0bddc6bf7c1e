/**
 * Reports at scale: a leak with hundreds of thousands of holders, a
 * refcount history longer than its ring. Formatting walks the data with
 * loops (no argument spreading, no recursion), so any size fits the stack.
 */
import { describe, expect, it } from "vitest";
import { formatReport, type RefcountUnderflowReport } from "../../src/index.js";
import { Bo, freeIt, leakAtTeardown } from "../fixtures.js";
import { collectingSim } from "../support/collecting-sim.js";

const MANY = 300_000;

describe("leak report with many holders", () => {
  it(`aggregates ${MANY} references of one holder, task and op into one row with a count`, () => {
    const sim = collectingSim({ maxSteps: 2 * MANY });
    sim.run(function* () {
      const bo = new Bo(sim, "bo0", "creator");
      for (let i = 0; i < MANY; i++) yield* bo.kref.get("lookup");
    });
    const leak = leakAtTeardown(sim);
    expect(leak?.objects).toHaveLength(1);
    const rc = leak?.objects[0]?.refcounts[0];
    expect(rc?.count).toBe(MANY + 1);
    expect(rc?.holders).toEqual([
      { holder: "creator", count: 1, site: { task: "main/1", step: 1, op: "kref_init" } },
      // The oldest reference's site stands for the group: main/1's first get, at step 2.
      { holder: "lookup", count: MANY, site: { task: "main/1", step: 2, op: "kref_get" } },
    ]);
    const text = formatReport(leak as NonNullable<typeof leak>);
    expect(text).toContain(`    refcount ${MANY + 1}:`);
    expect(text).toContain(`      held by "lookup" x${MANY}`.padEnd(34) + "first taken by main/1 at step 2 (kref_get)");
    expect(text).toContain(`      held by "creator"`.padEnd(34) + "taken by main/1 at step 1 (kref_init)");
  });

  it(`formats ${MANY} distinct holders without overflowing the stack, one row each, oldest first`, () => {
    const sim = collectingSim({ maxSteps: 2 * MANY });
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      for (let i = 0; i < MANY; i++) yield* bo.kref.get(`h${i}`);
    });
    const leak = leakAtTeardown(sim);
    const holders = leak?.objects[0]?.refcounts[0]?.holders ?? [];
    expect(holders).toHaveLength(MANY + 1);
    expect(holders[0]).toEqual({ holder: "h0", count: 1, site: { task: "main/1", step: 2, op: "kref_get" } });
    expect(holders[MANY - 1]?.holder).toBe(`h${MANY - 1}`);
    expect(holders[MANY]).toEqual({ holder: null, count: 1, site: null });
    const lines = formatReport(leak as NonNullable<typeof leak>).split("\n");
    expect(lines.filter((l) => l.startsWith('      held by "h'))).toHaveLength(MANY);
    expect(lines).toContain("      1 untagged reference");
  });

  it("a holder tag longer than its column is still set apart from where it was taken", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      yield* bo.kref.get("drm_gpuvm_bo_obtain_prealloc");
    });
    const leak = leakAtTeardown(sim);
    expect(formatReport(leak as NonNullable<typeof leak>)).toContain('      held by "drm_gpuvm_bo_obtain_prealloc" taken by main/1 at step 2 (kref_get)');
  });

  it("a leak of many objects formats too", () => {
    const N = 20_000;
    const sim = collectingSim({ maxSteps: 10 * N });
    sim.run(function* () {
      for (let i = 0; i < N; i++) new Bo(sim, `bo${i}`);
      yield* [];
    });
    const leak = leakAtTeardown(sim);
    expect(leak?.objects).toHaveLength(N);
    const text = formatReport(leak as NonNullable<typeof leak>);
    expect(text.split("\n")[1]).toBe(`BUG: gpuvm-sim: ${N} objects still live at teardown (leak)`);
  });
});

describe("refcount history cut by its ring", () => {
  it("says how many events of the object were dropped, in the report and in its text", () => {
    const sim = collectingSim({ maxSteps: 10_000 });
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      // init + 600 gets + 601 puts: 1202 events of bo0, the ring keeps the last 512.
      for (let i = 0; i < 600; i++) yield* bo.kref.get();
      for (let i = 0; i < 601; i++) yield* bo.kref.put(() => undefined);
      yield* bo.kref.put(() => undefined); // the extra put: underflow
    });
    const r = sim.reports.find((x): x is RefcountUnderflowReport => x.kind === "refcount-underflow");
    expect(r?.refHistory).toHaveLength(512);
    expect(r?.refHistoryDropped).toBe(1203 - 512);
    // Nothing before the drop is lost from the count: kept plus dropped is every event of bo0.
    expect((r?.refHistory.length ?? 0) + (r?.refHistoryDropped ?? 0)).toBe(1 + 600 + 601 + 1);
    const text = formatReport(r as RefcountUnderflowReport).split("\n");
    const title = text.indexOf('Refcount history of Bo#1 "bo0":');
    expect(text[title + 1]).toBe("  (691 earlier events dropped: the history keeps the last 512 refcount events of all objects)");
  });

  it("counts only the object's own dropped events when other objects fill the ring", () => {
    const sim = collectingSim({ maxSteps: 10_000 });
    sim.run(function* () {
      const a = new Bo(sim, "a");
      const b = new Bo(sim, "b");
      yield* a.kref.get(); // a: init, get (2 events, both pushed out below)
      for (let i = 0; i < 600; i++) yield* b.kref.get();
      yield* a.kref.put(() => undefined);
      yield* a.kref.put(() => undefined);
      yield* a.kref.put(() => undefined); // underflow of a
    });
    const r = sim.reports.find((x): x is RefcountUnderflowReport => x.kind === "refcount-underflow");
    expect(r?.object.label).toBe('Bo#1 "a"');
    expect(r?.refHistoryDropped).toBe(2);
    expect(r?.refHistory.map((e) => e.op)).toEqual(["put", "put-release", "put"]);
  });

  it("is 0 when the whole history is there, and the text says nothing", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      yield* bo.kref.put(freeIt);
      yield* bo.kref.put(freeIt);
    });
    const r = sim.reports.find((x): x is RefcountUnderflowReport => x.kind === "refcount-underflow");
    expect(r?.refHistoryDropped).toBe(0);
    expect(formatReport(r as RefcountUnderflowReport)).not.toContain("dropped");
  });
});
