import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, DmaFence, FenceContext, Sim, SimObject, UsageError } from "../../src/index.js";
import { MAX_NANOSECONDS } from "../../src/validate.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

describe("bad input: FenceContext", () => {
  it("new FenceContext(): a non-Sim names 'sim', a non-string names 'name'; no context number is used up", () => {
    const sim = new Sim();
    expectThrows(() => new FenceContext(null as never, "x"), ArgumentError, "sim");
    expectThrows(() => new FenceContext({} as never, "x"), ArgumentError, "sim");
    expectThrows(() => new FenceContext(sim, 3 as never), ArgumentError, "name");
    expect(new FenceContext(sim, "ok").context).toBe(1);
  });
});

describe("bad input: DmaFence", () => {
  it("new DmaFence(): a context that is not a FenceContext names 'context'", () => {
    const sim = new Sim();
    const id = nextId(sim);
    expectThrows(() => new DmaFence(null as never), ArgumentError, "context");
    expectThrows(() => new DmaFence({ context: 1, sim } as never), ArgumentError, "context");
    expect(nextId(sim)).toBe(id + 1);
  });

  it("new DmaFence(): bad options name the option; nothing is allocated and no seqno is used up", () => {
    const sim = new Sim();
    const ctx = new FenceContext(sim, "ring");
    const other = new Sim();
    const foreignTask = other.spawn("t", "process", function* () {
      yield* condResched();
    });
    const id = nextId(sim);
    expectThrows(() => new DmaFence(ctx, null as never), ArgumentError, "options");
    expectThrows(() => new DmaFence(ctx, { seqnum: 1 } as never), ArgumentError, "seqnum");
    expectThrows(() => new DmaFence(ctx, { seqno: "1" } as never), ArgumentError, "seqno");
    for (const bad of [-1, 1.5, NaN, 2 ** 53]) expectThrows(() => new DmaFence(ctx, { seqno: bad }), ArgumentRangeError, "seqno");
    expectThrows(() => new DmaFence(ctx, { name: 1 } as never), ArgumentError, "name");
    expectThrows(() => new DmaFence(ctx, { holder: 1 } as never), ArgumentError, "holder");
    expectThrows(() => new DmaFence(ctx, { static: 1 } as never), ArgumentError, "static");
    expectThrows(() => new DmaFence(ctx, { signaller: {} } as never), ArgumentError, "signaller");
    expectThrows(() => new DmaFence(ctx, { signaller: foreignTask }), ArgumentError, "signaller");
    expectThrows(() => new DmaFence(ctx, { ops: 1 } as never), ArgumentError, "ops");
    expectThrows(() => new DmaFence(ctx, { ops: { relase: () => undefined } } as never), ArgumentError, "ops.relase");
    expectThrows(() => new DmaFence(ctx, { ops: { release: 1 } } as never), ArgumentError, "ops.release");
    expectThrows(() => new DmaFence(ctx, { embeddedIn: {} } as never), ArgumentError, "embeddedIn");
    const job = new SimObject(sim, "Job", { static: true });
    expectThrows(() => new DmaFence(ctx, { embeddedIn: job }), ArgumentError, "ops.release");
    expectThrows(() => new DmaFence(ctx, { embeddedIn: new SimObject(other, "Job", { static: true }), ops: { release: () => undefined } }), ArgumentError, "embeddedIn");
    // Nothing allocated (only `job` and the probe object), and the context's seqnos untouched.
    expect(nextId(sim)).toBe(id + 2);
    expect(new DmaFence(ctx, { static: true }).seqno).toBe(1);
  });

  it("wait/waitTimeout/addCallback/removeCallback/setError: bad arguments name them; the fence is unchanged", () => {
    const sim = collectingSim();
    const f = new DmaFence(new FenceContext(sim, "ring"), { static: true });
    sim.run(function* () {
      expectThrows(() => f.wait("yes" as never), ArgumentError, "intr");
      expectThrows(() => f.waitTimeout(1 as never, 10), ArgumentError, "intr");
      expectThrows(() => f.waitTimeout(false, "10" as never), ArgumentError, "timeoutNs");
      for (const t of [-1, NaN, Infinity, MAX_NANOSECONDS + 1]) expectThrows(() => f.waitTimeout(false, t), ArgumentRangeError, "timeoutNs");
      expectThrows(() => f.addCallback(null as never), ArgumentError, "fn");
      expectThrows(() => f.removeCallback("cb" as never), ArgumentError, "fn");
      expectThrows(() => f.setError("-5" as never), ArgumentError, "errno");
      for (const e of [0, 5, -4096, -1.5]) expectThrows(() => f.setError(e), ArgumentRangeError, "errno");
      yield* f.signal();
    });
    expect([f.error, f.isSignaled(), f.callbacks, f.publishedHow]).toEqual([0, true, null, null]);
    expect(sim.reports).toEqual([]);
    expect(sim.now).toBe(0);
  });

  it("isLater(): non-fences name 'a' or 'b'; fences of two contexts name 'b'", () => {
    const sim = new Sim();
    const a = new DmaFence(new FenceContext(sim, "a"), { static: true });
    const b = new DmaFence(new FenceContext(sim, "b"), { static: true });
    expectThrows(() => DmaFence.isLater(null as never, a), ArgumentError, "a");
    expectThrows(() => DmaFence.isLater(a, {} as never), ArgumentError, "b");
    expectThrows(() => DmaFence.isLater(a, b), ArgumentError, "b");
  });

  it("ops driven outside a task are a UsageError; the fence is unchanged", () => {
    const sim = new Sim();
    const f = new DmaFence(new FenceContext(sim, "ring"), { static: true });
    expectThrows(() => [...f.signal()], UsageError);
    expectThrows(() => [...f.wait(false)], UsageError);
    expectThrows(() => [...f.put()], UsageError);
    expect([f.isSignaled(), f.refcount.read(), f.publishedHow]).toEqual([false, 1, null]);
  });
});
