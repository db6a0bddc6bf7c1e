import { describe, expect, it } from "vitest";
import { ArgumentError, kfree, Lockdep, Mutex, RwSemaphore, Sim, SimObject, SpinLock, type Report } from "../../src/index.js";

function sim(): Sim {
  return new Sim({ onReport: "collect", lockdep: new Lockdep() });
}

describe("LockObject (what every lock shares)", () => {
  it("takes the lockdep class first; instances of one class share it and print with their container", () => {
    const s = sim();
    const bo0 = new SimObject(s, "Bo");
    const bo1 = new SimObject(s, "Bo");
    const a = new Mutex(s, "bo->lock", { embeddedIn: bo0 });
    const b = new Mutex(s, "bo->lock", { embeddedIn: bo1 });
    const named = new SpinLock(s, "bo->lru", { name: "bo0->lru" });
    expect(a.lockClass).toBe(b.lockClass);
    expect(a.lockClass.name).toBe("bo->lock");
    expect(a.label).toBe('Mutex#3 "bo->lock" in Bo#1');
    expect(named.label).toBe('SpinLock#5 "bo0->lru"');
    expect(named.lockClass.name).toBe("bo->lru");
  });

  it("gives a spinlock and a sleeping lock of the same name different classes", () => {
    const s = sim();
    expect(new SpinLock(s, "x").lockClass).not.toBe(new Mutex(s, "x").lockClass);
  });

  it("rejects an empty class name", () => {
    expect(() => new Mutex(sim(), "")).toThrow(ArgumentError);
    expect(() => new RwSemaphore(sim(), "")).toThrow(expect.objectContaining({ argument: "className" }) as Error);
  });

  it("reports its holder as a query, with no effect", () => {
    const s = sim();
    const m = new Mutex(s, "m");
    const seen = s.run(function* () {
      const before = m.holder;
      yield* m.lock();
      const during = m.holder?.label;
      yield* m.unlock();
      return [before, during, s.step];
    });
    expect(seen).toEqual([null, "main/1", 3]);
  });

  it("files lock-held-at-free when a held lock is freed with its object", () => {
    const s = sim();
    s.run(function* () {
      const vm = new SimObject(s, "Vm");
      const lock = new SpinLock(s, "vm->lock", { embeddedIn: vm });
      yield* lock.lock();
      yield* kfree(vm);
      yield* lock.unlock(); // a use after free too, but the first report is the bug
    });
    const r = s.reports[0] as Extract<Report, { kind: "lock-held-at-free" }>;
    expect(r).toMatchObject({ kind: "lock-held-at-free", lock: 'SpinLock#2 "vm->lock" in Vm#1', holder: "main/1" });
    expect(r.acquired?.op).toBe("spin_lock");
  });

  it("does not report freeing a lock nobody holds", () => {
    const s = sim();
    s.run(function* () {
      const vm = new SimObject(s, "Vm");
      const lock = new Mutex(s, "vm->lock", { embeddedIn: vm });
      yield* lock.lock();
      yield* lock.unlock();
      yield* kfree(vm);
    });
    expect(s.reports).toEqual([]);
  });
});
