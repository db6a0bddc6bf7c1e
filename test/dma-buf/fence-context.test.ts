/** FenceContext (src/dma-buf/fence-context.ts): context numbers per Sim, seqnos per context. */
import { describe, expect, it } from "vitest";
import { DmaFence, FenceContext, Sim } from "../../src/index.js";

describe("FenceContext", () => {
  it("numbers contexts 1, 2, ... per Sim", () => {
    const a = new Sim({ seed: 1 });
    const b = new Sim({ seed: 1 });
    expect([new FenceContext(a, "x").context, new FenceContext(a, "y").context, new FenceContext(b, "z").context]).toEqual([1, 2, 1]);
  });

  it("hands out seqnos 1, 2, ...; an explicit seqno moves the counter past it", () => {
    const sim = new Sim({ seed: 1 });
    const ctx = new FenceContext(sim, "ring0");
    expect(ctx.nextSeqno()).toBe(1);
    const f = new DmaFence(ctx, { seqno: 10, static: true });
    expect(f.seqno).toBe(10);
    expect(new DmaFence(ctx, { static: true }).seqno).toBe(11);
  });

  it("labels itself by number and name", () => {
    const sim = new Sim({ seed: 1 });
    expect(new FenceContext(sim, "ring0").label).toBe('FenceContext 1 "ring0"');
    expect(new FenceContext(sim, "").label).toBe("FenceContext 2");
  });
});
