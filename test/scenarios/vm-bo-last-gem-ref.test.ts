import { describe, expect, it } from "vitest";
import { explore, formatReport } from "../../src/index.js";
import { vmBoLastGemRef } from "../../src/scenarios/vm-bo-last-gem-ref.js";

describe("probe", () => {
  it("buggy", () => {
    const r = explore(vmBoLastGemRef.variants.buggy, { strategy: { name: "dfs", reduction: "dpor" }, executions: 2000, stopAtFirst: true, shrink: false });
    console.log(r.executions, r.failures.map((f) => f.reports.map(formatReport).join("\n---\n")).join("\n====\n"));
  });
  for (const [n, s] of [["fixed", vmBoLastGemRef.variants.fixed], ...(vmBoLastGemRef.more ?? []).map((m) => [m.name, m.scenario] as const)] as const) {
    it(String(n), () => {
      const r = explore(s as never, { strategy: { name: "dfs", reduction: "dpor" }, executions: 20000, stopAtFirst: true, shrink: false });
      console.log(n, r.executions, r.exhausted, r.timeMs, r.failures.map((f) => formatReport(f.report)).join("\n"));
    });
  }
});
