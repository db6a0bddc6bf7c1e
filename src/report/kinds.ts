/**
 * The built-in layers' report kinds, the one list of them: importing this
 * module registers every built-in kind in the table of registry.ts, and
 * {@link BuiltinReportKinds} puts their types into `ReportKinds` (report.ts).
 * text.ts, json.ts and fingerprint.ts import it, so whoever formats, reads or
 * fingerprints a report sees every kind, whichever modules the caller
 * imported.
 *
 * A new kind of an existing layer needs no edit here. A new layer (say
 * dma-buf) writes `src/report/fence-kinds.ts` (named for what it reports,
 * not after the layer, so no report file reads as a module of a higher
 * layer): its data interfaces, an exported `DmaBufReportKinds` map and one `defineReportKind()` per kind. Then it adds
 * its import line and its map to `BuiltinReportKinds` below, and exports its
 * report types from src/index.ts. docs/reports.md, "Adding a report kind",
 * walks through it.
 */
import "./runtime-kinds.js";
import "./lock-kinds.js";
import "./rcu-kinds.js";
import "./fence-kinds.js";
import "./work-kinds.js";
import "./vm-bo-list-kinds.js";
import "./gpuvm-kinds.js";
import "./device-kinds.js";
import "./mm-kinds.js";
import type { KernelReportKinds } from "./runtime-kinds.js";
import type { LockingReportKinds } from "./lock-kinds.js";
import type { RcuReportKinds } from "./rcu-kinds.js";
import type { DmaBufReportKinds } from "./fence-kinds.js";
import type { WorkReportKinds } from "./work-kinds.js";
import type { VmBoListReportKinds } from "./vm-bo-list-kinds.js";
import type { GpuvmReportKinds } from "./gpuvm-kinds.js";
import type { DeviceReportKinds } from "./device-kinds.js";
import type { MmReportKinds } from "./mm-kinds.js";

/**
 * Every built-in layer's kinds. An interface that extends the layers' maps
 * (rather than each layer augmenting `ReportKinds` from its own file) keeps
 * the types whole in the bundled declaration files of the package, which do
 * not carry module augmentation of relative paths.
 */
export interface BuiltinReportKinds extends KernelReportKinds, LockingReportKinds, RcuReportKinds, DmaBufReportKinds, WorkReportKinds, VmBoListReportKinds, GpuvmReportKinds, DeviceReportKinds, MmReportKinds {}
