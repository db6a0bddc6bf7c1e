/**
 * The built-in report kinds: importing this module registers every layer's
 * kinds in the table of registry.ts. text.ts, json.ts and fingerprint.ts
 * import it, so whoever formats, reads or fingerprints a report sees every
 * kind, whichever modules the caller imported.
 *
 * A new layer (say dma-buf) adds its kinds in `src/report/dma-buf.ts`: the
 * data interfaces, a `declare module "./report.js"` block adding them to
 * `ReportKinds`, and one `defineReportKind()` per kind. Then it adds one
 * import line below, and exports its report types from src/index.ts.
 * docs/reports.md, "Adding a report kind", walks through it.
 */
import "./kernel.js";
import "./locking.js";
