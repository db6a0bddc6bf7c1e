/**
 * The error that carries a report out of a run: a Sim in the default
 * `onReport: "throw"` mode ends `run()` / `runAll()` by throwing it. It is
 * one of the catalog's errors (a GpuvmSimError); it lives with the reports
 * so that src/errors.ts, which every layer imports, imports nothing.
 */
import { GpuvmSimError } from "../errors.js";
import type { Report } from "./report.js";

/** Thrown by `Sim.run()`/`runAll()` in `onReport: "throw"` mode. `report` is the report; the message is its text. */
export class ReportError extends GpuvmSimError {
  override name = "ReportError";
  constructor(
    readonly report: Report,
    text: string,
  ) {
    super(text);
  }
}
