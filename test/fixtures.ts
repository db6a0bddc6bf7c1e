/** Small driver-model objects shared by the tests. */
import { kfree, Kref, SimObject, type Effect, type LeakReport, type Report, type Sim } from "../src/index.js";

/** A buffer-object-like thing: one Kref, one guarded field. */
export class Bo extends SimObject {
  readonly kref: Kref<Bo>;
  private readonly _size: number;

  constructor(sim: Sim, name = "bo", holder?: string) {
    super(sim, "Bo", { name });
    this.kref = new Kref<Bo>(this, holder === undefined ? {} : { holder });
    this._size = 4096;
  }

  get size(): number {
    return this._size;
  }
}

/** The usual release: free the owner. */
export function* freeIt(obj: SimObject): Generator<Effect, void, unknown> {
  yield* kfree(obj);
}

/** Tear `sim` down and return the `leak` report it filed, or null if nothing leaked. */
export function leakAtTeardown(sim: Sim): LeakReport | null {
  return sim.teardown().find((r: Report): r is LeakReport => r.kind === "leak") ?? null;
}
