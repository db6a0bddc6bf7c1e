/**
 * gpuvm-sim: the public API. Every export is named here.
 */
export { ArgumentError, ArgumentRangeError, GpuvmSimError, ReportError, UsageError } from "./errors.js";
export { Completion } from "./kernel/completion.js";
export { Effect, type EffectKind, type Waitable } from "./kernel/effect.js";
export { kfree, SimObject, type SimObjectOptions } from "./kernel/heap.js";
export { Kref, REFCOUNT_MAX, REFCOUNT_SATURATED, type KrefOptions, type Release } from "./kernel/kref.js";
export { defineOp, Op } from "./kernel/op.js";
export type { RunOutcome, StrategyName } from "./kernel/scheduler.js";
export { Sim, type Checks, type RunResult, type SimOptions } from "./kernel/sim.js";
export { condResched, current, msleep, Task, type TaskBody, type TaskContext, type TaskState } from "./kernel/task.js";
export { REPORT_JSON_VERSION, reportsFromJson, reportsToJson } from "./report/json.js";
export type {
  DeadlockReport,
  DoubleFreeReport,
  HolderRef,
  LeakedObject,
  LeakReport,
  ObjectRef,
  RefcountHolderMismatchReport,
  RefcountIncFromZeroReport,
  RefcountSaturatedReport,
  RefcountUnderflowReport,
  RefEvent,
  Report,
  ReportKind,
  ScheduleTail,
  SiteRef,
  StepLimitReport,
  TaskExceptionReport,
  UnstartedOpReport,
  UseAfterFreeReport,
  WaitEdge,
} from "./report/report.js";
export { formatReport } from "./report/text.js";
