/**
 * The built-in scenario catalog, in the order `gpuvm-sim demo` runs it.
 * Each entry has a buggy variant that must be caught with the report kind it
 * names, and a fixed variant that must pass its whole budget.
 */
import { allocInFenceSignalling } from "./alloc-in-fence-signalling.js";
import { completionDeadlock } from "./completion-deadlock.js";
import { fenceWaitUnderLock } from "./fence-wait-under-lock.js";
import { flushWorkUnderLock } from "./flush-work-under-lock.js";
import type { CatalogScenario } from "./scenario.js";
import { shrinkerResvInversion } from "./shrinker-resv-inversion.js";
import { uafLastReference } from "./uaf-last-reference.js";

export const catalog: readonly CatalogScenario[] = [
  uafLastReference,
  completionDeadlock,
  shrinkerResvInversion,
  allocInFenceSignalling,
  fenceWaitUnderLock,
  flushWorkUnderLock,
];
