import { describe, it } from "vitest";
import { explore } from "../../src/index.js";
import { runSeeds } from "../../src/scenarios/scenario.js";
import { gpuvmListWalk as S } from "../../src/scenarios/gpuvm-list-walk.js";
import { vmBoLastGemRef as T } from "../../src/scenarios/vm-bo-last-gem-ref.js";

describe("probe", () => {
  for (const C of [S, T])
  for (const [n, s] of [["buggy", C.variants.buggy], ["fixed", C.variants.fixed], ...(C.more ?? []).map((m) => [m.name, m.scenario] as const)] as const) {
    it(String(n), () => {
      const t0 = performance.now();
      const a = runSeeds(s as never, { seeds: 50 });
      const t1 = performance.now();
      const r = explore(s as never, { executions: 200 });
      console.log(C.name, n, "seeds:", a.executions, a.firstFailure?.report.kind, (t1 - t0).toFixed(0), "portfolio:", r.executions, r.stoppedBy, r.failures[0]?.report.kind, r.timeMs.toFixed(0));
    });
  }
});
