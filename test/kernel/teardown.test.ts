/**
 * Teardown: `sim.teardown()` runs every registered end-of-run check, in
 * registration order, and files what they find.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ArgumentError, Sim, SimObject, UsageError, type LeakReport } from "../../src/index.js";
import type { ReportBody } from "../../src/report/report.js";
import { registerTeardownCheck, teardownChecks } from "../../src/kernel/teardown.js";
import { Bo, freeIt } from "../fixtures.js";

/** A driver-model object that must be closed before the run ends. */
class Widget extends SimObject {
  closed = false;

  constructor(sim: Sim, name: string) {
    super(sim, "Widget", { name, static: true });
  }
}

/** The fake check: one leak-shaped report listing the widgets never closed. */
function widgetsNeverClosed(sim: Sim): readonly ReportBody[] {
  const open = widgets.filter((w) => w.sim === sim && !w.closed);
  if (open.length === 0) return [];
  const objects = open.map((w) => ({
    object: { id: w.id, type: w.typeName, name: w.name, label: w.label },
    allocated: { task: null, step: 0, op: "new Widget" },
    refcounts: [],
  }));
  return [{ kind: "leak", objects }];
}

const widgets: Widget[] = [];
const unregister: (() => void)[] = [];

function register(...args: Parameters<typeof registerTeardownCheck>): void {
  unregister.push(registerTeardownCheck(...args));
}

afterEach(() => {
  for (const u of unregister.splice(0)) u();
  widgets.length = 0;
});

describe("sim.teardown()", () => {
  it("starts with the kernel's leak scan (higher layers' checks follow)", () => {
    expect(teardownChecks()[0]?.name).toBe("leaks");
  });

  it("files nothing and returns [] when all is well", () => {
    const sim = new Sim();
    sim.run(function* () {
      yield* new Bo(sim).kref.put(freeIt);
    });
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });

  it("runs the registered checks in registration order and returns their reports in that order", () => {
    const ran: string[] = [];
    const noting = (name: string) => (sim: Sim): readonly ReportBody[] => {
      ran.push(name);
      return name === "widgets" ? widgetsNeverClosed(sim) : [];
    };
    for (const name of ["first", "widgets", "last"]) register({ name, run: noting(name) });
    const sim = new Sim({ onReport: "collect" });
    const w = new Widget(sim, "panel");
    widgets.push(w, new Widget(sim, "knob"));
    w.closed = true;
    sim.run(function* () {
      new Bo(sim, "forgotten");
    });
    const filed = sim.teardown();
    expect(ran).toEqual(["first", "widgets", "last"]);
    expect(filed.map((r) => r.kind)).toEqual(["leak", "leak"]);
    // The kernel's leak scan first: the Bo. Then the test's check: the open widget.
    expect((filed[0] as LeakReport).objects.map((o) => o.object.label)).toEqual(['Bo#3 "forgotten"']);
    expect((filed[1] as LeakReport).objects.map((o) => o.object.label)).toEqual(['Widget#2 "knob"']);
    expect(filed[1]).toMatchObject({ task: null, step: sim.step, replay: sim.replayToken });
    expect(sim.reports).toEqual(filed);
  });

  it("skips a check whose gate is off", () => {
    const ran: string[] = [];
    register({
      name: "gated",
      gate: "lockdep",
      run: () => {
        ran.push("gated");
        return [];
      },
    });
    const sim = new Sim({ checks: { lockdep: false, lifetimes: false } });
    new SimObject(sim, "Leaked");
    expect(sim.teardown()).toEqual([]);
    expect(ran).toEqual([]);
  });

  it("never throws a ReportError, even in onReport: \"throw\" mode", () => {
    const sim = new Sim();
    new SimObject(sim, "Leaked");
    const filed = sim.teardown();
    expect(filed.map((r) => r.kind)).toEqual(["leak"]);
  });

  it("is harmless twice: the second call files nothing and returns the first call's reports", () => {
    const sim = new Sim({ onReport: "collect" });
    new SimObject(sim, "Leaked");
    const first = sim.teardown();
    expect(sim.teardown()).toBe(first);
    expect(sim.reports).toHaveLength(1);
  });

  it("ends the run: spawning a task afterwards is a UsageError", () => {
    const sim = new Sim();
    sim.teardown();
    function* nothing(): Generator<never, number, unknown> {
      return 0;
    }
    expect(() => sim.spawn("late", "process", nothing)).toThrow(UsageError);
    expect(() => {
      sim.run(nothing);
    }).toThrow(/after teardown\(\)/);
  });

  it("is a UsageError inside a task, and the Sim is not torn down by it", () => {
    const sim = new Sim({ onReport: "collect" });
    const err = sim.run(function* () {
      try {
        sim.teardown();
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/inside a simulated task/);
    expect(sim.teardown()).toEqual([]);
  });
});

describe("registerTeardownCheck", () => {
  it("refuses a second check of the same name, and its result unregisters", () => {
    const before = teardownChecks().map((c) => c.name);
    register({ name: "widgets", run: () => [] });
    expect(() => registerTeardownCheck({ name: "widgets", run: () => [] })).toThrow(ArgumentError);
    expect(() => registerTeardownCheck({ name: "leaks", run: () => [] })).toThrow(/already registered/);
    for (const u of unregister.splice(0)) u();
    expect(teardownChecks().map((c) => c.name)).toEqual(before);
  });

  it("rejects a check without a name or a run function", () => {
    expect(() => registerTeardownCheck({ name: "", run: () => [] })).toThrow(ArgumentError);
    expect(() => registerTeardownCheck({ name: "x" } as never)).toThrow(ArgumentError);
  });
});
