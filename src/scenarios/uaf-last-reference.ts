/**
 * uaf-last-reference: one task drops the last reference to a buffer object
 * while another task is still using it through a pointer it never counted.
 *
 * The closer owns the BO's only reference (the one its userspace handle
 * holds). It hands the BO to a user task and then closes the handle. In the
 * buggy variant the user borrows the pointer without a reference of its own,
 * so the handle's put is the last one and frees the BO under the user.
 *
 * Buggy. Step numbers are Sim steps under the round-robin strategy, where
 * the user's second read is the first to touch freed memory:
 *
 *   closer/1                                  user/2
 *   1. spawn user, pass bo (no kref_get)
 *                                             2. start
 *   3. kref_put(bo, "handle"): 1 -> 0,
 *      release() starts
 *                                             4. access(bo, read); bo.size
 *                                                (count is 0, not freed yet)
 *   5. kfree(bo)
 *                                             6. access(bo, read); bo.size
 *                                                => use-after-free
 *
 * Fixed: the closer takes a reference for the user before it hands the BO
 * over, and the user puts it when done. Whichever put comes last frees:
 *
 *   closer/1                                  user/2
 *   1. kref_get(bo, "user"): 1 -> 2
 *   2. spawn user, pass bo and its reference
 *      ...                                    ... bo.size, three times
 *   n. kref_put(bo, "handle")                 m. kref_put(bo, "user")
 */
import type { Effect } from "../kernel/effect.js";
import { kfree, SimObject } from "../kernel/heap.js";
import { Kref } from "../kernel/kref.js";
import { defineOp } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { access } from "../kernel/access.js";
import type { CatalogScenario } from "./scenario.js";

const PAGE_SIZE = 4096;
/** How many times the user reads the BO, with a scheduling point in between. */
const READS = 3;

/** A GEM-like buffer object: a size and a refcount, nothing more. */
export class Bo extends SimObject {
  /** The initial reference belongs to the userspace handle. */
  readonly kref = new Kref<Bo>(this, { holder: "handle" });
  readonly #size: number;

  constructor(sim: Sim, name: string, size: number) {
    super(sim, "Bo", { name });
    this.#size = size;
  }

  /** The BO's size in bytes: a field read, so a use after free is reported. */
  get size(): number {
    return this.#size;
  }
}

/** The kref release: the last put frees the BO. */
function* releaseBo(bo: Bo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
}

/**
 * Read the BO's size READS times. Each read is a step of its own that says it
 * reads the BO (access()), so the explorer orders it against the free.
 * Returns pages seen.
 */
const readBo = defineOp("read_bo", function* (bo: Bo): Generator<Effect, number, unknown> {
  let pages = 0;
  for (let i = 0; i < READS; i++) {
    yield* access(bo, "read");
    pages += bo.size / PAGE_SIZE;
  }
  return pages;
});

function buggy(sim: Sim): void {
  const bo = new Bo(sim, "bo0", 16 * PAGE_SIZE);
  sim.spawn("closer", "process", function* () {
    // BUG: the user gets a pointer but no reference; the put below may be the last.
    sim.spawn("user", "process", function* () {
      return yield* readBo(bo);
    });
    yield* bo.kref.put(releaseBo, "handle");
  });
}

function fixed(sim: Sim): void {
  const bo = new Bo(sim, "bo0", 16 * PAGE_SIZE);
  sim.spawn("closer", "process", function* () {
    // ORDER: take the user's reference while the handle's still pins the BO,
    // before the user can run.
    yield* bo.kref.get("user");
    sim.spawn("user", "process", function* () {
      const pages = yield* readBo(bo);
      yield* bo.kref.put(releaseBo, "user");
      return pages;
    });
    yield* bo.kref.put(releaseBo, "handle");
  });
}

export const uafLastReference: CatalogScenario = {
  name: "uaf-last-reference",
  title: "Last reference dropped while another task still uses the object",
  description:
    "A task holding a buffer object's only reference hands the object to a second task and then drops " +
    "that reference. The second task reads the object through a borrowed pointer, without a reference of " +
    "its own, so the put frees the object while it is still in use. The fix takes a reference for the " +
    "second task before handing the object over; the second task drops it when done.",
  expect: "use-after-free",
  variants: { buggy, fixed },
};
