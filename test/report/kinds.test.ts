/** The list of report layers: importing it registers every built-in kind. */
import { describe, expect, it } from "vitest";
import "../../src/report/kinds.js";
import { registeredReportKinds } from "../../src/report/registry.js";

describe("kinds", () => {
  it("registers the kernel's and the locking layer's kinds", () => {
    const kinds = registeredReportKinds();
    for (const k of ["use-after-free", "leak", "deadlock", "livelock", "usage", "lock-order-cycle", "ww-mutex-misuse", "sleep-in-atomic"]) {
      expect(kinds).toContain(k);
    }
  });
});
