/**
 * Whatever a task throws or yields, and however its iterator misbehaves, it
 * is a report of that execution: never an exception out of runAll() or
 * explore().
 */
import { describe, expect, it } from "vitest";
import { condResched, explore, type Sim, type TaskBody } from "../../src/index.js";
import { collectingSim, expectTaskExceptions } from "../support/collecting-sim.js";

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}
const throwing = new Proxy(
  {},
  {
    get() {
      throw new Error("trap: get");
    },
    getPrototypeOf() {
      throw new Error("trap: getPrototypeOf");
    },
  },
);
function errorWithThrowingFields(): Error {
  const e = new Error("x");
  Object.defineProperty(e, "name", {
    get() {
      throw new Error("name getter");
    },
  });
  Object.defineProperty(e, "stack", {
    get() {
      throw new Error("stack getter");
    },
  });
  return e;
}
const nullProtoMessage = (): Error => {
  const e = new Error("x");
  Object.defineProperty(e, "message", { value: Object.create(null) as object });
  return e;
};

const BODIES: [string, string, TaskBody<unknown>][] = [
  [
    "throws a null-prototype object",
    "task-exception",
    function* () {
      yield* condResched();
      throw Object.create(null) as Error;
    },
  ],
  [
    "throws a revoked Proxy",
    "task-exception",
    function* () {
      yield* condResched();
      throw revoked() as Error;
    },
  ],
  [
    "throws an Error whose name and stack getters throw",
    "task-exception",
    function* () {
      yield* condResched();
      throw errorWithThrowingFields();
    },
  ],
  [
    "throws an Error whose message is a null-prototype object",
    "task-exception",
    function* () {
      yield* condResched();
      throw nullProtoMessage();
    },
  ],
  [
    "yields a revoked Proxy",
    "task-misuse",
    function* () {
      yield* condResched();
      yield revoked() as never;
    },
  ],
  [
    "yields a Proxy whose traps throw",
    "task-misuse",
    function* () {
      yield* condResched();
      yield throwing as never;
    },
  ],
  ["returns an iterator whose next() returns undefined", "task-misuse", () => ({ next: () => undefined, [Symbol.iterator]() { return this; } }) as never],
  [
    "returns an iterator whose second next() returns undefined",
    "task-misuse",
    () => {
      let n = 0;
      const inner = condResched()[Symbol.iterator]();
      return { next: (v: unknown) => (n++ === 0 ? inner.next(v) : undefined), [Symbol.iterator]() { return this; } } as never;
    },
  ],
  [
    "returns an iterator whose result's done getter throws",
    "task-exception",
    () =>
      ({
        next: () => ({
          get done(): boolean {
            throw new Error("done getter");
          },
        }),
        [Symbol.iterator]() {
          return this;
        },
      }) as never,
  ],
  [
    "returns an iterator whose next() throws a null-prototype object",
    "task-exception",
    () => ({ next: () => { throw Object.create(null) as Error; }, [Symbol.iterator]() { return this; } }) as never,
  ],
];

describe("odd throws and yields are reports, never exceptions out of the library", () => {
  for (const [name, kind, body] of BODIES) {
    it(`a task that ${name}: a ${kind} report, the other task runs`, () => {
      const sim = expectTaskExceptions(collectingSim());
      let other = false;
      sim.spawn("odd", "process", body);
      sim.spawn("other", "process", function* () {
        yield* condResched();
        other = true;
      });
      expect(() => sim.runAll()).not.toThrow();
      expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
      expect(sim.reports[0]?.task).toBe("odd/1");
      expect(other).toBe(true);
    });

    it(`explore() goes on when a task ${name}`, () => {
      const scenario = (sim: Sim) => {
        sim.spawn("odd", "process", body);
      };
      const r = explore(scenario, { executions: 3, shrink: false });
      expect(r.failures.map((f) => f.report.kind)).toEqual([kind]);
    });
  }
});
