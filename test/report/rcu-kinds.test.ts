/** The RCU report kinds (src/report/rcu-kinds.ts): definitions, text, JSON, and what makes one failure. */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { reportHeadline } from "../../src/report/text.js";
import { itDefinesKinds } from "../support/report-kinds.js";
import { programs } from "./reports.js";

describe("RCU report kinds", () => {
  itDefinesKinds(["suspicious-rcu-usage"]);

  it("suspicious-rcu-usage: the problem is part of the identity, and an unbalanced unlock reads as lockdep's", () => {
    const r = programs["suspicious-rcu-usage"]() as Extract<Report, { kind: "suspicious-rcu-usage" }>;
    const other = r.problem === "unbalanced-unlock" ? "dereference-outside-read-section" : "unbalanced-unlock";
    expect(fingerprint({ ...r, problem: other })).not.toBe(fingerprint(r));
    expect(reportHeadline({ ...r, problem: "unbalanced-unlock" })).toBe("WARNING: bad unlock balance detected! (rcu_read_unlock)");
  });
});
