/**
 * RwSemaphore: shared readers, exclusive writers, writers holding off new
 * readers (and the read-recursion deadlock that follows), downgrade, the
 * write-side assertion and trylocks.
 */
import { describe, expect, it } from "vitest";
import { collectingSim as newSim } from "../support/collecting-sim.js";
import { condResched, kfree, RwSemaphore, Sim, SimObject, type Report, type ReportKind } from "../../src/index.js";

function onlyReport<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

describe("RwSemaphore: readers and writers", () => {
  it("never lets a writer in with readers or another writer, and lets readers share, under 100 seeds", () => {
    let sharedSeen = false;
    for (let seed = 0; seed < 100; seed++) {
      const sim = newSim({ seed, strategy: "random" });
      const sem = new RwSemaphore(sim, "S");
      let counter = 0;
      let readers = 0;
      let writers = 0;
      let bad = 0;
      for (const name of ["w1", "w2"]) {
        sim.spawn(name, "process", function* () {
          for (let i = 0; i < 2; i++) {
            yield* sem.downWrite();
            writers++;
            if (writers !== 1 || readers !== 0) bad++;
            const v = counter;
            yield* condResched();
            counter = v + 1;
            writers--;
            yield* sem.upWrite();
          }
        });
      }
      for (const name of ["r1", "r2"]) {
        sim.spawn(name, "process", function* () {
          for (let i = 0; i < 2; i++) {
            yield* sem.downRead();
            readers++;
            if (writers !== 0) bad++;
            if (readers > 1) sharedSeen = true;
            yield* condResched();
            readers--;
            yield* sem.upRead();
          }
        });
      }
      expect(sim.runAll().outcome).toBe("done");
      expect([counter, bad]).toEqual([4, 0]);
      expect(sim.reports).toEqual([]);
    }
    expect(sharedSeen).toBe(true);
  });

  it("readers hold it together", () => {
    // step  r1/1                 r2/2
    //  1    start; down_read
    //  2                         start; down_read
    //  3    lock-read: reading
    //  4                         lock-read: reading with r1/1
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    const log: string[] = [];
    for (const name of ["r1", "r2"]) {
      sim.spawn(name, "process", function* () {
        yield* sem.downRead();
        log.push(`${sim.step} ${name} reading; isLocked ${sem.isLocked()}, holder ${sem.holder?.label ?? "none"}`);
        yield* condResched();
        yield* sem.upRead();
      });
    }
    sim.runAll();
    expect(log).toEqual(["3 r1 reading; isLocked true, holder none", "4 r2 reading; isLocked true, holder none"]);
    expect(sem.isLocked()).toBe(false);
  });

  it("a writer excludes readers until it releases", () => {
    // step  w/1                  r/2
    //  1    start; down_write
    //  2                         start; down_read
    //  3    lock-queue
    //  -                         (blocked: w/1 waits)
    //  4    lock: writing
    //  5    cond_resched
    //  6    up_write
    //  7                         lock-read: reading
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    const log: string[] = [];
    sim.spawn("w", "process", function* () {
      yield* sem.downWrite();
      log.push(`${sim.step} w writing, holder ${sem.holder?.label ?? "none"}`);
      yield* condResched();
      yield* sem.upWrite();
    });
    sim.spawn("r", "process", function* () {
      yield* sem.downRead();
      log.push(`${sim.step} r reading`);
      yield* sem.upRead();
    });
    sim.runAll();
    expect(log).toEqual(["4 w writing, holder w/1", "7 r reading"]);
  });

  it("a waiting writer holds off new readers, though only readers hold the semaphore", () => {
    // step  r1/1               w/2                  r2/3
    //  1    start; down_read
    //  2                       start
    //  3                                            start
    //  4    lock-read: reading
    //  5                       cond_resched; down_write
    //  6                                            cond_resched; down_read
    //  7    cond_resched
    //  8                       lock-queue
    //  -                       (blocked: read by r1/1)
    //  -                                            (blocked: w/2 waits)
    //  9    up_read
    // 10                       lock: writing
    // 11                       up_write
    // 12                                            lock-read: reading
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    const log: string[] = [];
    sim.spawn("r1", "process", function* () {
      yield* sem.downRead();
      log.push(`${sim.step} r1 reading`);
      yield* condResched();
      yield* sem.upRead();
      log.push(`${sim.step} r1 done`);
    });
    sim.spawn("w", "process", function* () {
      yield* condResched();
      yield* sem.downWrite();
      log.push(`${sim.step} w writing`);
      yield* sem.upWrite();
    });
    sim.spawn("r2", "process", function* () {
      yield* condResched();
      yield* sem.downRead();
      log.push(`${sim.step} r2 reading`);
      yield* sem.upRead();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(log).toEqual(["4 r1 reading", "9 r1 done", "10 w writing", "12 r2 reading"]);
  });

  it("taking the read side twice deadlocks against a queued writer, and lockdep says why", () => {
    // step  r/1                            w/2
    //  1    start; down_read
    //  2                                   start (cond_resched)
    //  3    lock-read: reading
    //  4                                   down_write: waits, holding off readers
    //  -                                   (blocked: read by r/1)
    //  5    cond_resched; down_read again:
    //       recursive-locking
    //  -    deadlock: r/1 waits behind w/2, w/2 waits for r/1 to up_read
    const sim = newSim();
    const sem = new RwSemaphore(sim, "&mm->mmap_lock");
    sim.spawn("r", "process", function* () {
      yield* sem.downRead();
      yield* condResched();
      yield* sem.downRead();
      yield* sem.upRead();
      yield* sem.upRead();
    });
    sim.spawn("w", "process", function* () {
      yield* condResched();
      yield* sem.downWrite();
      yield* sem.upWrite();
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    expect(sim.reports.map((r) => r.kind)).toEqual(["recursive-locking", "deadlock"]);
    expect(sim.reports[0]).toMatchObject({ lock: sem.label, first: { read: true }, second: { task: "r/1", step: 5, op: "down_read" } });
    const d = sim.reports[1] as Extract<Report, { kind: "deadlock" }>;
    expect(d.cycle.map((e) => [e.task, e.blockedIn, e.wakers])).toEqual([
      ["r/1", "lock-read", ["w/2"]],
      ["w/2", "lock", ["r/1"]],
    ]);
  });

  it("without a writer queued, the second down_read succeeds (lockdep reports it anyway)", () => {
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    sim.run(function* () {
      yield* sem.downRead();
      yield* sem.downRead();
      yield* sem.upRead();
      yield* sem.upRead();
    });
    expect(onlyReport(sim, "recursive-locking").lock).toBe(sem.label);
    expect(sem.isLocked()).toBe(false);
  });
});

describe("RwSemaphore: trylocks", () => {
  it("down_read_trylock fails under a writer; down_write_trylock fails under a reader", () => {
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    const results: boolean[] = [];
    sim.spawn("t", "process", function* () {
      results.push(yield* sem.downWriteTrylock()); // free: true
      results.push(yield* sem.downWriteTrylock()); // written: false
      yield* sem.upWrite();
      results.push(yield* sem.downReadTrylock()); // free: true
      results.push(yield* sem.downWriteTrylock()); // read: false
      yield* sem.upRead();
    });
    sim.runAll();
    expect(results).toEqual([true, false, true, false]);
    expect(sim.reports).toEqual([]);
  });

  it("down_read_trylock fails while a writer waits", () => {
    // step  r1/1               w/2                 r2/3
    //  1    start; down_read
    //  2                       start (cond_resched)
    //  3                                           start (cond_resched)
    //  4    lock-read: reading
    //  5                       resched; down_write
    //  6                                           resched; down_read_trylock
    //  7    cond_resched
    //  8                       lock-queue: waits
    //  9                                           trylock: false (w/2 waits)
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    let tried: boolean | undefined;
    sim.spawn("r1", "process", function* () {
      yield* sem.downRead();
      yield* condResched();
      yield* condResched();
      yield* sem.upRead();
    });
    sim.spawn("w", "process", function* () {
      yield* condResched();
      yield* sem.downWrite();
      yield* sem.upWrite();
    });
    sim.spawn("r2", "process", function* () {
      yield* condResched();
      tried = yield* sem.downReadTrylock();
      expect(sim.step).toBe(9);
      if (tried) yield* sem.upRead();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(tried).toBe(false);
  });
});

describe("RwSemaphore: downgrade and assertions", () => {
  it("downgrade() turns the write hold into a read hold and lets waiting readers in", () => {
    // step  w/1                           r/2
    //  1    start; down_write
    //  2                                  start; down_read
    //  3    lock-queue
    //  -                                  (blocked)
    //  4    lock: writing
    //  5    downgrade_write
    //  6                                  lock-read: reading with w/1
    //  7    cond_resched
    //  8                                  up_read
    //  9    up_read
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    const log: string[] = [];
    sim.spawn("w", "process", function* () {
      yield* sem.downWrite();
      log.push(`${sim.step} w: write ${sem.assertHeldWrite()}`);
      yield* sem.downgrade();
      log.push(`${sim.step} w downgraded: holder ${sem.holder?.label ?? "none"}, held ${sem.assertHeld()}`);
      yield* condResched();
      log.push(`${sim.step} w: write ${sem.assertHeldWrite()}`);
      yield* sem.upRead();
    });
    sim.spawn("r", "process", function* () {
      yield* sem.downRead();
      log.push(`${sim.step} r reading`);
      yield* sem.upRead();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(log).toEqual(["4 w: write true", "5 w downgraded: holder none, held true", "6 r reading", "7 w: write false"]);
    // After the downgrade, the write-side assertion fails: one report.
    expect(onlyReport(sim, "lock-not-held")).toMatchObject({ lock: `${sem.label} (for write)`, owner: null, task: "w/1", step: 7 });
    expect(sem.isLocked()).toBe(false);
  });

  it("assertHeldWrite() of a read hold, and downgrade() without the write hold, are lock-not-held", () => {
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    const results: boolean[] = [];
    sim.run(function* () {
      yield* sem.downRead();
      results.push(sem.assertHeld(), sem.assertHeldWrite());
      yield* sem.downgrade();
      yield* sem.upRead();
    });
    expect(results).toEqual([true, false]);
    expect(sim.reports.map((r) => [r.kind, (r as Extract<Report, { kind: "lock-not-held" }>).lock])).toEqual([
      ["lock-not-held", `${sem.label} (for write)`],
      ["lock-not-held", `${sem.label} (for write)`],
    ]);
    expect(sem.isLocked()).toBe(false);
  });

  it("up_read by a task that is not reading is bad-unlock", () => {
    const sim = newSim();
    const sem = new RwSemaphore(sim, "S");
    sim.run(function* () {
      yield* sem.upRead();
    });
    expect(onlyReport(sim, "bad-unlock")).toMatchObject({ lock: sem.label, owner: null });
  });

  for (const [held, take, wrong, right] of [
    ["write", "downWrite", "upRead", "upWrite"],
    ["read", "downRead", "upWrite", "upRead"],
  ] as const) {
    it(`${wrong}() of a semaphore held by ${take}() is bad-unlock naming both sides, and changes nothing`, () => {
      const sim = newSim();
      const sem = new RwSemaphore(sim, "S");
      const seen: unknown[] = [];
      sim.spawn("main", "process", function* () {
        yield* sem[take]();
        yield* sem[wrong]();
        seen.push(sim.reports.length, sem.isLocked(), sem.holder?.label ?? null, sem.readers.size);
        yield* sem[right]();
        seen.push(sem.isLocked());
      });
      expect(sim.runAll().outcome).toBe("done");
      expect(onlyReport(sim, "bad-unlock")).toMatchObject({ lock: sem.label, task: "main/1", heldAs: held, releasedAs: held === "write" ? "read" : "write" });
      expect(seen).toEqual([1, true, held === "write" ? "main/1" : null, held === "read" ? 1 : 0, false]);
    });
  }

  it("freeing an object whose embedded semaphore is read-held names the reader", () => {
    const sim = newSim();
    const mm = new SimObject(sim, "Mm", { name: "mm0" });
    const sem = new RwSemaphore(sim, "&mm->mmap_lock", { embeddedIn: mm });
    sim.spawn("reader", "process", function* () {
      yield* sem.downRead();
      yield* kfree(mm);
    });
    sim.runAll();
    expect(sim.reports.map((r) => r.kind)).toEqual(["lock-held-at-free", "lock-held-at-exit"]);
    expect(sim.reports[0]).toMatchObject({ lock: sem.label, holder: "reader/1" });
  });
});
