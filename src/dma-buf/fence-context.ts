/**
 * FenceContext: one fence timeline.
 *
 * Mirrors: dma_fence_context_alloc() (one context number) and the seqno a
 *   driver keeps per timeline to number the fences it makes on it.
 * Ownership: not refcounted, not a heap object: a number and a counter, as
 *   in the kernel (a u64 in the driver's ring or entity). It lives as long as
 *   the JavaScript object.
 * Locking: the seqno counter belongs to whoever makes fences on the context
 *   (a driver serialises that with its own lock, or makes them from one
 *   task); `nextSeqno()` is not an effect, but the running step of a task
 *   that calls it (or makes a fence) writes the context in its footprint,
 *   and making a context in a task writes the Sim's context counter, so
 *   the explorer orders both against other tasks doing the same. The last-signalled record is
 *   written by each fence signal of the context, which declares it in its
 *   footprint.
 * States: context numbers count from 1 per Sim, in creation order; seqnos
 *   count from 1 per context.
 * Invariants: fences of one context signal in seqno order; a signal that
 *   breaks it is a `fence-signal-out-of-order` report (dma-fence.ts).
 */
import { ArgumentError } from "../errors.js";
import { arg, describeValue, is } from "../validate.js";
import { Heap, noteTouched } from "../kernel/heap.js";
import type { Sim } from "../kernel/sim.js";

/**
 * Context numbers handed out per Sim (the kernel's dma_fence_context_counter,
 * which starts at 1). The record has no footprint key of its own on
 * purpose: made by whichever task first makes a context, a key would name
 * it differently from one execution to the next. Unshared, it is touched
 * under key 0, which no object has: making a context is dependent with
 * making another (and with nothing else).
 */
const contextCounters = new WeakMap<Sim, { n: number }>();

export class FenceContext {
  /** The context number (dma_fence_context_alloc(1)): 1, 2, ... per Sim. */
  readonly context: number;
  /** @internal The next seqno nextSeqno() hands out. */ private next = 1;
  /**
   * @internal The signalled fence of the highest seqno so far, and where it
   * was signalled; null before the first signal. Written by signals.
   */
  lastSignalled: { readonly seqno: number; readonly fence: object; readonly site: unknown } | null = null;

  /**
   * `new FenceContext(sim, "gpu-ring0")`: allocate one fence context.
   * @throws ArgumentError naming `sim` when it is not a Sim, `name` when it
   *   is not a string. Nothing is allocated then.
   */
  constructor(
    readonly sim: Sim,
    readonly name: string,
  ) {
    if (typeof sim !== "object" || (sim as Sim | null) === null || !(sim.heap instanceof Heap)) {
      throw new ArgumentError("sim", `must be a Sim, got ${describeValue(sim)}`);
    }
    arg("name", is.string, name);
    let counter = contextCounters.get(sim);
    if (counter === undefined) contextCounters.set(sim, (counter = { n: 0 }));
    noteTouched(sim, counter, true);
    this.context = ++counter.n;
    // Signals of the context's fences write its last-signalled record: it needs a footprint key.
    sim.heap.share(this);
  }

  /** The next seqno of this timeline (1, 2, ...); what `new DmaFence(ctx)` uses when given none. Not an effect. */
  nextSeqno(): number {
    this.written();
    return this.next++;
  }

  /** @internal Make sure a later nextSeqno() does not hand out `seqno` or less again. */
  sawSeqno(seqno: number): void {
    this.written();
    if (seqno >= this.next) this.next = seqno + 1;
  }

  /**
   * The seqno counter is shared by every task that makes fences on the
   * context, yet handing one out is no step of its own (it happens in a
   * constructor): the running step of the task doing it writes the context,
   * and the explorer must know, or it takes two tasks making fences on one
   * context for independent and explores one order of their seqnos only.
   */
  private written(): void {
    noteTouched(this.sim, this, true);
  }

  /** `FenceContext 2 "gpu-ring0"`. */
  get label(): string {
    return this.name === "" ? `FenceContext ${this.context}` : `FenceContext ${this.context} "${this.name}"`;
  }
}
