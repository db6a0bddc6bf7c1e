/**
 * The built-in scenario catalog, in the order `gpuvm-sim demo` runs it.
 * Each entry has a buggy variant that must be caught with the report kind it
 * names, and a fixed variant that must pass its whole budget; some have
 * further variants (`more`), each caught with its kind or clean.
 */
import { allocInFenceSignalling } from "./alloc-in-fence-signalling.js";
import { completionDeadlock } from "./completion-deadlock.js";
import { fenceWaitUnderLock } from "./fence-wait-under-lock.js";
import { flushWorkUnderLock } from "./flush-work-under-lock.js";
import { gemFreeVsShrinker } from "./gem-free-vs-shrinker.js";
import { gemVmboListLocking } from "./gem-vmbo-list-locking.js";
import { gpuvmListWalk } from "./gpuvm-list-walk.js";
import { invalidateStaleDma } from "./invalidate-stale-dma.js";
import type { CatalogScenario } from "./scenario.js";
import { shrinkerResvInversion } from "./shrinker-resv-inversion.js";
import { uafLastReference } from "./uaf-last-reference.js";
import { vmBoLastGemRef } from "./vm-bo-last-gem-ref.js";
import { vmWhoRefcountsWhom } from "./vm-who-refcounts-whom.js";

export const catalog: readonly CatalogScenario[] = [
  uafLastReference,
  completionDeadlock,
  shrinkerResvInversion,
  allocInFenceSignalling,
  fenceWaitUnderLock,
  flushWorkUnderLock,
  // The GPUVM scenarios (issue 10): more variants than the pair each (`more`).
  gpuvmListWalk,
  vmBoLastGemRef,
  gemVmboListLocking,
  // The device scenarios (issue 11), from the founding threads 001, 002 and 003.
  vmWhoRefcountsWhom,
  gemFreeVsShrinker,
  invalidateStaleDma,
];
