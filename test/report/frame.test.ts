/** The shared frame of every report: rows, schedule columns, the replay line. */
import { describe, expect, it } from "vitest";
import { condResched, formatReport, type Report } from "../../src/index.js";
import { pad, replayLine, ReportText, scheduleColumns, siteRow, taskName } from "../../src/report/frame.js";
import { Bo, freeIt } from "../fixtures.js";
import { collectingSim } from "../support/collecting-sim.js";

/** Where each line's text resumes after the step cell (`step` or a number, then spaces). */
function afterStep(line: string): number {
  const m = /^ {2}(\S+ *)/.exec(line);
  return m === null ? -1 : 2 + (m[1] as string).length;
}

describe("frame", () => {
  it("pads, names a missing task as setup, and picks the replay call by token version", () => {
    expect(pad("ab", 4)).toBe("ab  ");
    expect(taskName(null)).toBe("(setup)");
    expect(replayLine("gpuvm-sim:2:x")).toBe('Replay: replay(scenario, "gpuvm-sim:2:x")');
    expect(replayLine("gpuvm-sim:1:sim:random:0")).toBe('Replay: new Sim({ replay: "gpuvm-sim:1:sim:random:0" })');
  });

  it("ReportText writes rows in order and skips a site that was not seen", () => {
    const out = new ReportText().line("a", "b").blank().site("freed by", null).held("Locks held", []);
    expect(out.lines).toEqual(["a", "b", "", "Locks held: none"]);
  });

  it("draws one column per task, each as wide as its widest cell, with results and switch reasons", () => {
    const lines = scheduleColumns({
      tasks: ["t1/1", "t2/2"],
      rows: [
        { step: 1, column: 0, effect: "lock m", result: "taken" },
        { step: 2, column: 1, effect: "trylock m", result: "busy", switched: "preempts t1/1" },
      ],
    });
    expect(lines).toEqual([
      "Last 2 steps:",
      "  step  t1/1              t2/2",
      "  1     lock m -> taken",
      "  2                       trylock m -> busy   (preempts t1/1)",
    ]);
    expect(scheduleColumns({ tasks: [], rows: [] })).toEqual([]);
  });

  it("widens the step column to the longest step number, so rows past step 999999 stay under the header", () => {
    const lines = scheduleColumns({
      tasks: ["t1/1", "t2/2"],
      rows: [
        { step: 999_999, column: 0, effect: "lock m", result: "taken" },
        { step: 1_000_000, column: 1, effect: "trylock m", result: "busy", switched: "preempts t1/1" },
        { step: 1_000_001, column: 0, effect: "unlock m", switched: "preempts t2/2" },
      ],
    });
    expect(lines).toEqual([
      "Last 3 steps:",
      "  step    t1/1              t2/2",
      "  999999  lock m -> taken",
      "  1000000                   trylock m -> busy   (preempts t1/1)",
      "  1000001 unlock m                              (preempts t2/2)",
    ]);
  });

  it("keeps the six-wide step column while steps have at most five digits", () => {
    const lines = scheduleColumns({ tasks: ["t1/1"], rows: [{ step: 99_999, column: 0, effect: "resched" }] });
    expect(lines).toEqual(["Last step:", "  step  t1/1", "  99999 resched"]);
  });

  it("formats a step column over a ring's worth of rows without spreading them into arguments", () => {
    const n = 300_000;
    const rows = Array.from({ length: n }, (_, i) => ({ step: 10_000_000 + i, column: 0, effect: "resched" }));
    const lines = scheduleColumns({ tasks: ["t1/1"], rows });
    expect(lines.length).toBe(n + 2);
    expect(lines[1]).toBe("  step     t1/1");
    expect(lines[n + 1]).toBe(`  ${10_000_000 + n - 1} resched`);
  });

  it("aligns a group of site rows and a refcount history on the widest step", () => {
    const site = (step: number, op: string) => ({ task: "main/1", step, op });
    const out = new ReportText()
      .site("extra put", site(1_000_004, "kref_put"))
      .site("zeroed by", site(999_992, "kref_put"))
      .blank()
      .site("freed", site(999_993, "kfree"))
      .refHistory("History", [
        { step: 1, task: "main/1", op: "init", holder: "creator", count: 1 },
        { step: 1_000_004, task: "main/1", op: "put", holder: "creator", count: -0x40000000 },
      ]);
    expect(out.lines).toEqual([
      "  extra put    main/1          step 1000004 kref_put",
      "  zeroed by    main/1          step 999992  kref_put",
      "",
      // A new group: its own width, the usual one.
      "  freed        main/1          step 999993 kfree",
      "History:",
      "  step 1       main/1          init (creator)              1",
      "  step 1000004 main/1          put (creator)               saturated",
    ]);
    expect(siteRow("freed", site(5, "kfree"))).toBe("  freed        main/1          step 5     kfree");
  });

  it("a report from a run past step 1,000,000 keeps every column aligned", () => {
    // main: get, ~500,000 rescheds (other resched in between), put, the last put, then an extra put past step 1,000,000.
    const sim = collectingSim({ maxSteps: 2_000_000, strategy: "round-robin" });
    const steps: number[] = [];
    sim.run(function* () {
      const bo = new Bo(sim, "bo0", "creator");
      const other = sim.spawn("other", "process", function* () {
        while (sim.step < 1_000_010) yield* condResched();
      });
      yield* bo.kref.get("user");
      while (sim.step < 999_990) yield* condResched();
      yield* bo.kref.put(freeIt, "user");
      yield* bo.kref.put(freeIt, "creator");
      steps.push(sim.step);
      while (sim.step < 1_000_003) yield* condResched();
      yield* bo.kref.put(freeIt, "creator");
      steps.push(sim.step);
      while (other.state !== "done") yield* condResched();
    });
    const r = sim.reports[0] as Extract<Report, { kind: "refcount-underflow" }>;
    expect(sim.reports.map((x) => x.kind)).toEqual(["refcount-underflow"]);
    const [zeroed, extra] = steps as [number, number];
    expect(zeroed).toBeLessThan(1_000_000);
    expect(extra).toBeGreaterThan(1_000_000);
    const text = formatReport(r).split("\n");

    // The schedule: every row's cell starts where its task's header does.
    const head = text.findIndex((l) => l.startsWith("Last "));
    const header = text[head + 1] as string;
    expect(header).toMatch(/^ {2}step {4}main\/1 +other\/2$/);
    const column = [header.indexOf("main/1"), header.indexOf("other/2")];
    const rows = text.slice(head + 2, head + 2 + r.schedule.rows.length);
    expect(rows.length).toBe(r.schedule.rows.length);
    expect(r.schedule.rows.some((x) => x.step < 1_000_000)).toBe(true);
    expect(r.schedule.rows.some((x) => x.step >= 1_000_000)).toBe(true);
    r.schedule.rows.forEach((x, i) => {
      const line = rows[i] as string;
      expect(line.startsWith(`  ${x.step} `)).toBe(true);
      expect(line.indexOf(x.effect, afterStep(line) - 1)).toBe(column[x.column]);
    });
    // The switch reasons share one column too.
    const reasons = new Set(rows.filter((l) => l.trimEnd().endsWith(")")).map((l) => l.lastIndexOf("(")));
    expect(reasons.size).toBe(1);

    // The site rows and the history: one op column each.
    const sites = text.filter((l) => / step \d+ +kref_put$| step \d+ +kfree$/.test(l));
    expect(sites.map((l) => l.slice(0, 2 + 13 + 16))).toEqual(["  extra put    main/1          ", "  zeroed by    main/1          ", "  freed        main/1          "]);
    expect(new Set(sites.map((l) => l.search(/(kref_put|kfree)$/))).size).toBe(1);
    expect(sites[0]).toBe(`  extra put    main/1          step ${extra} kref_put`);
    const history = text.filter((l) => /^ {2}step \d+ +main\/1 /.test(l));
    expect(history.length).toBe(r.refHistory.length);
    expect(new Set(history.map((l) => l.indexOf("main/1"))).size).toBe(1);
  });
});
