/**
 * Allocation-failure coverage for the library's own tests: the public
 * helpers, re-exported (the runner from `gpuvm-sim`, its usual check from
 * `gpuvm-sim/vitest`). See src/kernel/alloc-failure.ts and docs/memory.md.
 */
export { forEachAllocationFailure, type AllocationFailureCase, type AllocationRun } from "../../src/index.js";
export { expectUnchangedOnFailure } from "../../src/vitest.js";
