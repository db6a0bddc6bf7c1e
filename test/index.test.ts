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
        "DRM_EXEC_CONTENDED_HOLDER",
        "DRM_EXEC_HOLDER",
        "DmaFence",
        "DmaResv",
        "DrmExec",
        "ExplorePool",
        "FenceContext",
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
        "RESERVATION_WW_CLASS",
        "RawSpinLock",
        "RcuPointer",
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
        "WwAcquireCtx",
        "WwClass",
        "WwMutex",
        "access",
        "callRcu",
        "condResched",
        "current",
        "defineEffectKind",
        "defineOp",
        "dmaFenceBeginSignalling",
        "dmaFenceEndSignalling",
        "dmaFenceMightWait",
        "explore",
        "exploreParallel",
        "formatReport",
        "fsReclaimAcquire",
        "fsReclaimRelease",
        "hardirqEnter",
        "hardirqExit",
        "kfree",
        "kfreeRcu",
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
        "rcuReadLock",
        "rcuReadLockHeld",
        "rcuReadUnlock",
        "replay",
        "reportsFromJson",
        "reportsToJson",
        "reservationWwClass",
        "softirqEnter",
        "softirqExit",
        "synchronizeRcu",
        "withoutStacks",
      ]
    `);
  });

  it("exports nothing undefined", () => {
    for (const [name, value] of Object.entries(api)) expect(value, name).toBeDefined();
  });
});
