/**
 * TestBo: the smallest object DrmExec works on, for tests until GemObject
 * exists: a SimObject with a Kref (its creator holds the first reference,
 * tag "creator") and an embedded DmaResv. The last put finalises the resv
 * and frees it.
 */
import { DmaResv, kfree, Kref, SimObject, type Effect, type Op, type Sim, type WwClass } from "../../src/index.js";

function* release(bo: TestBo): Generator<Effect, void, unknown> {
  // As a GEM object's release: dma_resv_fini() of its embedded resv first.
  yield* bo.resv.fini();
  yield* kfree(bo);
}

export class TestBo extends SimObject {
  readonly refcount: Kref<TestBo>;
  readonly resv: DmaResv;

  constructor(sim: Sim, name: string, options: { readonly wwClass?: WwClass } = {}) {
    super(sim, "TestBo", { name });
    this.refcount = new Kref(this, { holder: "creator" });
    this.resv = new DmaResv(sim, { name: `${name}.resv`, embeddedIn: this, ...options });
  }

  get(holder?: string): Op<void> {
    return this.refcount.get(holder);
  }

  put(holder?: string): Op<boolean> {
    return this.refcount.put(release, holder);
  }
}

/** `n` TestBos named bo0, bo1, ... */
export function testBos(sim: Sim, n: number, options: { readonly wwClass?: WwClass } = {}): TestBo[] {
  return Array.from({ length: n }, (_, i) => new TestBo(sim, `bo${i}`, options));
}
