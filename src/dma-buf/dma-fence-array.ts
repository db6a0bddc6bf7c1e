/**
 * DmaFenceArray: one fence standing for several, signalled once all of
 * them are.
 *
 * Mirrors: struct dma_fence_array — dma_fence_array_create() with
 *   signal_on_any false (drivers/dma-buf/dma-fence-array.c), as
 *   dma_resv_get_singleton() uses it.
 * Ownership: refcounted as any DmaFence. It owns one reference to each of
 *   its fences (the caller's, handed over at creation) and drops them when
 *   it is released; then it is freed with kfreeRcu.
 * Locking: none of its own: its pending count is changed only in the
 *   callbacks of its fences (run in their signal steps) and at creation.
 * States: pending (some fence unsignalled) → signalled (when the last one
 *   signals, in the task that signals it).
 * Invariants: `pending` is the number of its fences whose callback has not
 *   run; it is signalled exactly when that reaches 0.
 *
 * Kernel: the array adds its callbacks only when signalling is enabled (a
 * wait, a callback, or a test), and each callback then holds a reference
 * to the array. Here the callbacks are added at creation and hold none;
 * releasing the array first removes the callbacks still pending. See
 * docs/kernel-differences.md.
 */
import { arg, is } from "../validate.js";
import type { Effect } from "../kernel/effect.js";
import { GFP_KERNEL, kmallocObject } from "../kernel/memory.js";
import { makeOp, type Op } from "../kernel/op.js";
import { currentOrNull } from "../kernel/current.js";
import { kfreeRcu } from "../kernel/rcu.js";
import type { Task } from "../kernel/task.js";
import { ArgumentError } from "../errors.js";
import { DmaFence, type DmaFenceCallback } from "./dma-fence.js";
import { FenceContext } from "./fence-context.js";

/** The bytes a fence array is charged: its header and one pointer and callback per fence. */
function arrayBytes(n: number): number {
  return 128 + 40 * n;
}

export class DmaFenceArray extends DmaFence {
  /** The fences it stands for (it holds a reference to each). */
  readonly fences: readonly DmaFence[];
  /** @internal Fences whose callback has not run yet. */ pending: number;
  /** @internal The callback added to each fence. */ readonly onSignal: DmaFenceCallback;

  /** @internal Made by dmaFenceArrayCreate() only. */
  constructor(context: FenceContext, fences: readonly DmaFence[], name: string) {
    super(context, { seqno: 1, name, ops: { driverName: "dma_fence_array", release: releaseArray } });
    this.fences = fences;
    this.pending = fences.length;
    // Signalled by whichever task signals its last fence: no one task owes it.
    this.dropSignaller();
    this.onSignal = () => this.memberSignalled();
  }

  /** @internal One of its fences signalled: signal the array when it was the last. */
  *memberSignalled(): Generator<Effect, void, unknown> {
    this.pending--;
    if (this.pending === 0) yield* this.signal();
  }
}

function* releaseArray(a: DmaFence): Generator<Effect, void, unknown> {
  if (!(a instanceof DmaFenceArray)) return; // only arrays are made with this release
  for (const m of a.fences) {
    if (!m.isSignaled()) yield* m.removeCallback(a.onSignal);
    yield* m.put();
  }
  yield* kfreeRcu(a);
}

function* createBody(this: undefined, fences: readonly DmaFence[], name: string): Generator<Effect, DmaFenceArray | null, unknown> {
  const sim = (currentOrNull() as Task).sim;
  // dma_fence_context_alloc(1), by the caller in the kernel: used up even when the allocation fails.
  const context = new FenceContext(sim, "dma_fence_array");
  const array = yield* kmallocObject(() => new DmaFenceArray(context, fences, name), GFP_KERNEL, { size: arrayBytes(fences.length), site: "dma_fence_array_create" });
  if (array === null) return null;
  for (const m of fences) {
    if ((yield* m.addCallback(array.onSignal)) === "already-signalled") array.pending--;
  }
  if (array.pending === 0) yield* array.signal();
  return array;
}

/**
 * Mirrors dma_fence_array_create(num, fences, context, 1, false): a new
 * fence, on a new fence context with seqno 1, signalled once every fence
 * of `fences` is. The array takes over one reference to each fence from
 * the caller. null (-ENOMEM) when it cannot be allocated (GFP_KERNEL, site
 * `"dma_fence_array_create"`): the caller keeps its references then.
 *
 * @throws ArgumentError naming `fences` (not a non-empty array) or
 *   `fences[i]` (not a DmaFence); `name` (not a string).
 */
export function dmaFenceArrayCreate(fences: readonly DmaFence[], name = ""): Op<DmaFenceArray | null> {
  if (!Array.isArray(fences) || fences.length === 0) throw new ArgumentError("fences", "must be a non-empty array of DmaFences");
  fences.forEach((f, i) => { arg(`fences[${i}]`, is.instanceOf(DmaFence), f); });
  arg("name", is.string, name);
  return makeOp("dma_fence_array_create", undefined, createBody, fences.slice(), name);
}
