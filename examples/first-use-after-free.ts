/**
 * The README's first example: a buffer object whose last reference is
 * dropped while another task still reads it through a borrowed pointer.
 * Run it with `npx tsx examples/first-use-after-free.ts`.
 */
import { condResched, formatReport, kfree, Kref, Sim, SimObject, type Effect } from "../src/index.js";

// A GEM-like buffer object: one counted reference and one field. Once it is
// freed, any method call or getter read on it is a use-after-free report.
class Bo extends SimObject {
  readonly kref = new Kref<Bo>(this);
  readonly #size = 4096;

  get size(): number {
    return this.#size;
  }
}

// The kref release: the last put frees the object.
function* boRelease(bo: Bo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
}

// The scenario: build the world, spawn the tasks.
function scenario(sim: Sim): void {
  const bo = new Bo(sim, "Bo", { name: "scanout" });
  // The display task uses the pointer without a reference of its own...
  sim.spawn("display", "process", function* () {
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      bytes += bo.size;
      yield* condResched();
    }
    return bytes;
  });
  // ...while userspace closes the buffer and drops the last reference.
  sim.spawn("close", "process", function* () {
    yield* bo.kref.put(boRelease);
  });
}

// Try schedules until one goes wrong; print the report.
export function main(): string {
  for (let seed = 0; seed < 100; seed++) {
    const sim = new Sim({ seed, onReport: "collect" });
    scenario(sim);
    sim.runAll();
    const report = sim.reports[0];
    if (report !== undefined) return formatReport(report);
  }
  return "no schedule out of 100 went wrong";
}

if (process.argv[1]?.endsWith("first-use-after-free.ts") === true) console.log(main());
