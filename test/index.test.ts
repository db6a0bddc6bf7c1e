/**
 * The public API is what src/index.ts names. Pinning the runtime exports
 * catches an export added or lost by accident; change the list on purpose.
 */
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";

describe("public API", () => {
  it("exports exactly these runtime names", () => {
    expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
      [
        "ArgumentError",
        "ArgumentRangeError",
        "Completion",
        "ExplorePool",
        "ForeignSimError",
        "GpuvmSimError",
        "Kref",
        "LocalLock",
        "LockClass",
        "Lockdep",
        "Mutex",
        "Op",
        "REFCOUNT_MAX",
        "REFCOUNT_SATURATED",
        "REPORT_JSON_VERSION",
        "RawSpinLock",
        "ReportError",
        "RwLock",
        "RwSemaphore",
        "Sim",
        "SimObject",
        "SpinLock",
        "Task",
        "TokenError",
        "UnknownReportKindError",
        "UsageError",
        "WQ_DFL_ACTIVE",
        "WQ_MAX_ACTIVE",
        "Work",
        "Workqueue",
        "WwAcquireCtx",
        "WwClass",
        "WwMutex",
        "access",
        "cancelWorkSync",
        "condResched",
        "current",
        "defineEffectKind",
        "defineOp",
        "dmaFenceBeginSignalling",
        "dmaFenceEndSignalling",
        "dmaFenceMightWait",
        "explore",
        "exploreParallel",
        "flushWork",
        "formatReport",
        "fsReclaimAcquire",
        "fsReclaimRelease",
        "hardirqEnter",
        "hardirqExit",
        "kfree",
        "loadedCopies",
        "localBhDisable",
        "localBhEnable",
        "localIrqRestore",
        "localIrqSave",
        "lockMapAcquire",
        "lockMapRelease",
        "lockdepSetSubclass",
        "mightSleep",
        "msleep",
        "preemptCount",
        "preemptDisable",
        "preemptEnable",
        "replay",
        "reportsFromJson",
        "reportsToJson",
        "softirqEnter",
        "softirqExit",
        "systemWq",
        "withoutStacks",
      ]
    `);
  });

  it("exports nothing undefined", () => {
    for (const [name, value] of Object.entries(api)) expect(value, name).toBeDefined();
  });
});
