/** The shared frame of every report: rows, schedule columns, the replay line. */
import { describe, expect, it } from "vitest";
import { pad, replayLine, ReportText, scheduleColumns, taskName } from "../../src/report/frame.js";

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
});
