/**
 * The dma-buf layer's fence report kinds: a fence released with callbacks
 * still pending, signalled out of its context's sequence order, given an
 * error after it was signalled, waited for while holding a lock its
 * signaller needs, and published but never signalled. Each kind is its data
 * type, listed in {@link DmaBufReportKinds}, and its definition: headline,
 * rows, fingerprint.
 */
import type { ReportText } from "./frame.js";
import { defineReportKind, fingerprintName } from "./registry.js";
import type { HeldRef, ObjectRef, RefEvent, ReportBase, SiteRef } from "./report.js";

/**
 * The fence kinds by name, each key equal to its report's `kind`. kinds.ts
 * adds this map to `ReportKinds`, so these kinds are in `Report`.
 */
export interface DmaBufReportKinds {
  "fence-released-with-callbacks": FenceReleasedWithCallbacksReport;
  "fence-signal-out-of-order": FenceSignalOutOfOrderReport;
  "fence-set-error-after-signal": FenceSetErrorAfterSignalReport;
  "fence-wait-deadlock": FenceWaitDeadlockReport;
  "fence-never-signalled": FenceNeverSignalledReport;
  "resv-no-fence-slot": ResvNoFenceSlotReport;
}

/**
 * dma_resv_add_fence() with no free slot: the kernel's BUG_ON(num_fences >=
 * max_fences). The fence was not added (nothing changed). Usually the
 * driver did not call dma_resv_reserve_fences() under this hold of the
 * lock: slots reserved under an earlier hold are gone at unlock (the debug
 * kernel's dma_resv_reset_max_fences()).
 */
export interface ResvNoFenceSlotReport extends ReportBase {
  readonly kind: "resv-no-fence-slot";
  readonly resv: ObjectRef;
  readonly fence: FenceRef;
  readonly usage: "kernel" | "write" | "read" | "bookkeep";
  /** Fences in the list, and usable slots under this hold. */
  readonly numFences: number;
  readonly maxFences: number;
  readonly add: SiteRef;
  /** The last dma_resv_reserve_fences() that grew the list (maybe under an earlier hold), or null. */
  readonly lastReserve: SiteRef | null;
}

/** A fence as fence reports name it: the object, its context and its sequence number. */
export interface FenceRef {
  readonly object: ObjectRef;
  /** The fence context number (dma_fence_context_alloc()). */
  readonly context: number;
  /** Its sequence number within the context. */
  readonly seqno: number;
  /** The context's name, as its FenceContext was made. */
  readonly timeline: string;
}

/**
 * The last reference to an unsignalled fence was dropped while callbacks
 * were still registered: the kernel's "Fence ... released with pending
 * signals!" warning in dma_fence_release(). As the kernel does, the fence is
 * then signalled with error -EDEADLK (running the callbacks) and freed.
 */
export interface FenceReleasedWithCallbacksReport extends ReportBase {
  readonly kind: "fence-released-with-callbacks";
  readonly fence: FenceRef;
  /** Where each pending callback was added, oldest first. */
  readonly callbacks: readonly SiteRef[];
  /** The put that released it. */
  readonly released: SiteRef;
  readonly refHistory: readonly RefEvent[];
  readonly refHistoryDropped: number;
}

/**
 * A fence was signalled after a fence of the same context with a later
 * sequence number: the fences of one context must signal in order (the
 * contract dma_fence_is_later() and every fence container rely on).
 */
export interface FenceSignalOutOfOrderReport extends ReportBase {
  readonly kind: "fence-signal-out-of-order";
  readonly fence: FenceRef;
  /** The signal of this fence. */
  readonly signal: SiteRef;
  /** The later fence of the context that was already signalled, and where. */
  readonly later: FenceRef;
  readonly laterSignalled: SiteRef;
}

/** dma_fence_set_error() on a fence already signalled (the kernel's WARN_ON in it). */
export interface FenceSetErrorAfterSignalReport extends ReportBase {
  readonly kind: "fence-set-error-after-signal";
  readonly fence: FenceRef;
  /** The error being set, a negative errno. */
  readonly error: number;
  readonly setError: SiteRef;
  readonly signalled: SiteRef;
}

/**
 * A task waits for a fence while holding a lock that the fence's signaller
 * takes (or waits for) before it signals: in some schedule the waiter holds
 * the lock and waits, the signaller waits for the lock, and neither moves.
 * Filed when the second of the two facts is seen, whichever came first.
 */
export interface FenceWaitDeadlockReport extends ReportBase {
  readonly kind: "fence-wait-deadlock";
  readonly fence: FenceRef;
  /** The lock instance both sides use. */
  readonly lock: string;
  readonly lockClass: string;
  /** The waiting side: the task, the lock as it holds it, and where it waits. */
  readonly waiter: { readonly task: string; readonly holds: HeldRef; readonly wait: SiteRef };
  /**
   * The signalling side: the task, and where it asked for the lock while the
   * fence was unsignalled (`takes.step` is its step after which it asked, as
   * lockdep's witnesses say: the lock's own step comes later).
   */
  readonly signaller: { readonly task: string; readonly takes: SiteRef };
  /** Whether this run did deadlock on it (false: only a schedule could). */
  readonly actual: boolean;
}

/** Who waits for a fence: a task in dma_fence_wait(), or one that added a callback. */
export interface FenceWaiterRef {
  readonly how: "wait" | "callback";
  readonly site: SiteRef;
}

/**
 * Teardown: a fence was published (added to a reservation object, waited
 * for, or given a callback) and never signalled. Whoever waits for it waits
 * forever.
 */
export interface FenceNeverSignalledReport extends ReportBase {
  readonly kind: "fence-never-signalled";
  readonly fence: FenceRef;
  /** Where it was created (dma_fence_init()). */
  readonly created: SiteRef;
  /** The task that owed the signal, if any (the creator, or the task that claimed it). */
  readonly signaller: string | null;
  /** How it was published, in the order first seen: `"wait"`, `"callback"`, `"resv"`... */
  readonly published: readonly string[];
  /** Who waited for it or added a callback, oldest first. */
  readonly waiters: readonly FenceWaiterRef[];
  /** Whether the fence was freed (never signalled, yet released). */
  readonly freed: boolean;
}

/** `DmaFence#3 "job0" (context 2, seqno 5 on "gpu-ring")`. */
function fenceName(f: FenceRef): string {
  return `${f.object.label} (context ${f.context}, seqno ${f.seqno}${f.timeline === "" ? "" : ` on "${f.timeline}"`})`;
}

function fenceKey(f: FenceRef): string {
  return fingerprintName(f.timeline);
}

function held(out: ReportText, h: HeldRef): void {
  out.site(`holds`, h.acquired);
}

defineReportKind({
  kind: "fence-released-with-callbacks",
  headline: (r) => `WARNING: gpuvm-sim: fence ${r.fence.object.label} released with pending signals!`,
  body: (r, out) => {
    out
      .line(`The last reference to ${fenceName(r.fence)} went while ${r.callbacks.length} callback${r.callbacks.length === 1 ? " was" : "s were"} pending;`)
      .line("it is signalled with error -EDEADLK before it is freed, as dma_fence_release() does.")
      .blank()
      .site("released", r.released);
    for (const c of r.callbacks) out.site("callback", c);
    out.blank().refHistory(`Refcount history of ${r.fence.object.label}`, r.refHistory, r.refHistoryDropped);
  },
  fingerprint: (r) => [fenceKey(r.fence), r.released.op],
});

defineReportKind({
  kind: "fence-signal-out-of-order",
  headline: (r) => `WARNING: gpuvm-sim: fence ${r.fence.object.label} signalled out of order`,
  body: (r, out) => {
    out
      .line(`${fenceName(r.fence)} is signalled after ${fenceName(r.later)},`, "a later fence of the same context: a context's fences must signal in seqno order.")
      .blank()
      .site("signal", r.signal)
      .site("later signal", r.laterSignalled);
  },
  fingerprint: (r) => [fenceKey(r.fence), r.signal.op],
});

defineReportKind({
  kind: "fence-set-error-after-signal",
  headline: (r) => `WARNING: gpuvm-sim: dma_fence_set_error() on signalled fence ${r.fence.object.label}`,
  body: (r, out) => {
    out
      .line(`Error ${r.error} set on ${fenceName(r.fence)}, already signalled: the error must be set before the signal.`)
      .blank()
      .site("set error", r.setError)
      .site("signalled", r.signalled);
  },
  fingerprint: (r) => [fenceKey(r.fence), r.setError.op],
});

defineReportKind({
  kind: "fence-wait-deadlock",
  headline: () => "WARNING: gpuvm-sim: possible deadlock: a fence waited for under a lock its signaller needs",
  body: (r, out) => {
    out
      .line(
        `${r.waiter.task} waits for ${fenceName(r.fence)} while holding ${r.lock},`,
        `and ${r.signaller.task}, which signals that fence, takes ${r.lock} before it signals`,
        r.actual ? "(and this run did deadlock)." : "(no deadlock happened in this run).",
      )
      .blank()
      .line(`Waiter ${r.waiter.task}:`);
    held(out, r.waiter.holds);
    out
      .site("waits", r.waiter.wait)
      .blank()
      .line(`Signaller ${r.signaller.task} asks for ${r.lock} while the fence is unsignalled,`, `after its step ${r.signaller.takes.step} (${r.signaller.takes.op}).`)
      .blank();
    out.line(
      "Possible unsafe scenario:",
      "",
      `  ${r.waiter.task.padEnd(26)}${r.signaller.task}`,
      `  ${"----".padEnd(26)}----`,
      `  lock(${r.lockClass});`,
      `  ${"".padEnd(26)}lock(${r.lockClass});`,
      `  dma_fence_wait();`,
      `  ${"".padEnd(26)}dma_fence_signal();`,
      "",
      "  *** DEADLOCK ***",
    );
  },
  fingerprint: (r) => [r.lockClass, fenceKey(r.fence), r.waiter.wait.op],
});

defineReportKind({
  kind: "fence-never-signalled",
  headline: (r) => `BUG: gpuvm-sim: fence ${r.fence.object.label} published and never signalled`,
  body: (r, out) => {
    out
      .line(
        `${fenceName(r.fence)} was published (${r.published.join(", ")}) and never signalled${r.freed ? ", and then freed" : ""}.`,
        `It was owed by ${r.signaller ?? "no task (created outside any task)"}.`,
      )
      .blank()
      .site("created", r.created);
    for (const w of r.waiters) out.site(w.how === "wait" ? "waited" : "callback", w.site);
  },
  fingerprint: (r) => [fenceKey(r.fence), r.created.op, [...r.published].sort().join(",")],
});

defineReportKind({
  kind: "resv-no-fence-slot",
  headline: (r) => `kernel BUG: gpuvm-sim: dma_resv_add_fence() on ${r.resv.label} without a reserved slot`,
  body: (r, out) => {
    out
      .line(
        `${fenceName(r.fence)} (usage ${r.usage}) added to ${r.resv.label} with ${r.numFences} of ${r.maxFences} slots in use:`,
        "call dma_resv_reserve_fences() under the same hold of the lock first (slots reserved",
        "under an earlier hold are gone at unlock). The fence was not added.",
      )
      .blank()
      .site("add", r.add);
    if (r.lastReserve !== null) out.site("last reserve", r.lastReserve);
  },
  fingerprint: (r) => [r.resv.type, r.add.op, r.usage],
});

/** Declaration merging: the resv misuse kind joins the map above. */
export interface DmaBufReportKinds {
  "resv-misuse": ResvMisuseReport;
}

/**
 * A reservation object used against its lifetime: dma_resv_fini() called a
 * second time (the kernel frees the list again: a double free) or while its
 * lock is held (ww_mutex_destroy()'s debug warning), or a locked fence
 * operation (reserve, add, replace, the locked iteration) after fini()
 * (the kernel would write or read the freed list). A second fini() and an
 * op after fini() change nothing (the op returns as for an empty list); a
 * fini() under the lock finalises anyway, as the kernel's does. Unlocked
 * readers after fini() find no fences and file nothing.
 */
export interface ResvMisuseReport extends ReportBase {
  readonly kind: "resv-misuse";
  readonly problem: "fini-twice" | "fini-while-locked" | "used-after-fini";
  readonly resv: ObjectRef;
  /** The op that misused it. */
  readonly op: string;
  readonly site: SiteRef;
  /** Where fini() ran first, or null. */
  readonly fini: SiteRef | null;
}

const RESV_PROBLEMS: Record<ResvMisuseReport["problem"], string> = {
  "fini-twice": "dma_resv_fini() called twice",
  "fini-while-locked": "dma_resv_fini() while the reservation lock is held",
  "used-after-fini": "reservation object used after dma_resv_fini()",
};

/** What the simulation did after each misuse (the kernel's behaviour after its warning). */
const RESV_CONSEQUENCES: Record<ResvMisuseReport["problem"], string> = {
  "fini-twice": "The second call changed nothing.",
  "fini-while-locked": "As in the kernel, the teardown went on: the fence list is dropped and the lock's memory goes with its container, still held.",
  "used-after-fini": "The operation changed nothing.",
};

defineReportKind({
  kind: "resv-misuse",
  headline: (r) => `WARNING: gpuvm-sim: ${RESV_PROBLEMS[r.problem]} (${r.resv.label})`,
  body: (r, out) => {
    out.line(`${r.op} on ${r.resv.label}: ${RESV_PROBLEMS[r.problem]}. ${RESV_CONSEQUENCES[r.problem]}`).blank().site("here", r.site);
    if (r.fini !== null) out.site("fini", r.fini);
  },
  fingerprint: (r) => [r.problem, r.resv.type, r.op],
});
