/**
 * docs/lifetimes.md: a driver model's unit test, written with the lifetime
 * matchers of gpuvm-sim/vitest. The model maps buffer objects into a VM;
 * each mapping holds a reference to its object. It uses Vitest's expect,
 * so it runs inside a test (test/vitest-lifetimes.test.ts calls it).
 */
import { expect } from "vitest";
import { kfree, Kref, Sim, SimObject, VaTree, type Effect } from "../src/index.js";
import "../src/vitest.js"; // registers the matchers with Vitest's expect

class Bo extends SimObject {
  readonly refcount: Kref<Bo>;

  constructor(sim: Sim, name: string) {
    super(sim, "Bo", { name });
    this.refcount = new Kref<Bo>(this, { holder: "creator" });
  }
}

function* boFree(bo: Bo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
}

/** The driver's VM: a tree of mappings, each holding a reference to its Bo. */
class Vm {
  readonly mappings = new VaTree<Bo>();

  *map(bo: Bo, addr: number, range: number): Generator<Effect, void, unknown> {
    yield* bo.refcount.get("mapping");
    this.mappings.insert(addr, range, bo);
  }

  *unmap(addr: number): Generator<Effect, void, unknown> {
    const bo = this.mappings.remove(addr);
    if (bo !== undefined) yield* bo.refcount.put(boFree, "mapping");
  }

  /** What toSatisfyInvariants() calls: the violations found, empty when all hold. */
  checkInvariants(): string[] {
    return this.mappings.checkInvariants();
  }
}

export function main(): void {
  const sim = new Sim({ onReport: "collect" });
  const vm = new Vm();
  const bo = new Bo(sim, "bo0");
  sim.run(function* () {
    yield* vm.map(bo, 0x1000, 0x2000);
    yield* vm.map(bo, 0x8000, 0x1000);
  });
  expect(bo).toHaveRefcount(3); // the creator and two mappings
  expect(vm).toSatisfyInvariants();

  sim.run(function* () {
    yield* vm.unmap(0x1000);
    yield* vm.unmap(0x8000);
    yield* bo.refcount.put(boFree, "creator"); // userspace closes its handle
  });
  expect(bo).toBeFreed();
  expect(sim).toHaveNoLeaks(); // runs sim.teardown(): no object left, no fence unsignalled
}

/** The same test with the second unmap forgotten: the message toHaveNoLeaks() fails with. */
export function forgottenUnmap(): string {
  const sim = new Sim({ onReport: "collect" });
  const vm = new Vm();
  const bo = new Bo(sim, "bo0");
  sim.run(function* () {
    yield* vm.map(bo, 0x1000, 0x2000);
    yield* vm.map(bo, 0x8000, 0x1000);
    yield* vm.unmap(0x1000);
    yield* bo.refcount.put(boFree, "creator");
  });
  try {
    expect(sim).toHaveNoLeaks();
  } catch (e) {
    return (e as Error).message;
  }
  return "no leak";
}
