/** The shared argument checks (src/validate.ts). */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError } from "../src/errors.js";
import { arg, checkOptions, describeValue, is, isInstance, MAX_NANOSECONDS, thrownText } from "../src/validate.js";

interface Opts {
  readonly flag?: boolean;
  readonly count?: number;
  readonly checks?: { readonly lifetimes?: boolean; readonly refcounts?: boolean };
}
const SPEC = {
  flag: is.boolean,
  count: is.positiveInteger,
  checks: is.options<NonNullable<Opts["checks"]>>({ lifetimes: is.boolean, refcounts: is.boolean }),
};

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("did not throw");
}

describe("checkOptions", () => {
  it("accepts undefined as no options, and a good object as itself", () => {
    expect(checkOptions<Opts>("options", undefined, SPEC)).toEqual({});
    const o = { flag: true, count: 3, checks: { lifetimes: false } };
    expect(checkOptions<Opts>("options", o, SPEC)).toBe(o);
  });

  it.each([null, 5, "x", [], true])("refuses %j where an options object is expected, naming the argument", (v) => {
    const e = thrown(() => checkOptions<Opts>("options", v as Opts, SPEC));
    expect(e).toBeInstanceOf(ArgumentError);
    expect((e as ArgumentError).argument).toBe("options");
    expect((e as Error).message).toMatch(/must be an options object/);
  });

  it("names an unknown key, the nearest known one and all known ones; nested keys by their path", () => {
    const e = thrown(() => checkOptions<Opts>("options", { checks: { lifetime: false } } as Opts, SPEC)) as ArgumentError;
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.argument).toBe("checks.lifetime");
    expect(e.message).toContain("did you mean 'lifetimes'?");
    expect(e.message).toContain("known: lifetimes, refcounts");
    const f = thrown(() => checkOptions<Opts>("options", { zzzzzzzz: 1 } as Opts, SPEC)) as ArgumentError;
    expect(f.argument).toBe("zzzzzzzz");
    expect(f.message).not.toContain("did you mean");
  });

  it("checks each value by its rule: booleans must be booleans", () => {
    const e = thrown(() => checkOptions<Opts>("options", { flag: "no" } as unknown as Opts, SPEC)) as ArgumentError;
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.argument).toBe("flag");
    expect(e.message).toContain('the string "no"');
    const r = thrown(() => checkOptions<Opts>("options", { count: 0 }, SPEC)) as ArgumentRangeError;
    expect(r).toBeInstanceOf(ArgumentRangeError);
    expect(r.argument).toBe("count");
  });
});

describe("is.nanoseconds", () => {
  it.each([0, 1, 0.5, MAX_NANOSECONDS])("accepts %d", (v) => {
    expect(arg<number>("t", is.nanoseconds, v)).toBe(v);
  });
  it.each([["1000", ArgumentError], [-1, ArgumentRangeError], [Infinity, ArgumentRangeError], [NaN, ArgumentRangeError], [1e308, ArgumentRangeError]] as const)(
    "refuses %j",
    (v, C) => {
      const e = thrown(() => arg("deadline", is.nanoseconds, v)) as ArgumentError;
      expect(e).toBeInstanceOf(C);
      expect(e.argument).toBe("deadline");
    },
  );
});

describe("describeValue", () => {
  it("says what a value is without printing big ones", () => {
    expect(describeValue(Promise.resolve(1))).toBe("a promise");
    expect(describeValue(new Map())).toBe("a Map");
    expect(describeValue({})).toBe("an object");
    expect(describeValue("x".repeat(100))).toMatch(/^the string "x{40}\.\.\."$/);
    expect(describeValue(Symbol("s"))).toBe("a symbol");
  });
});

describe("describeValue and thrownText never throw", () => {
  const revoked = (): unknown => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  const throwingGetters = (): Error => {
    const e = new Error("x");
    for (const key of ["stack", "name", "message"]) {
      Object.defineProperty(e, key, {
        get() {
          throw new Error(`${key} getter`);
        },
      });
    }
    return e;
  };
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error("get");
      },
      getPrototypeOf() {
        throw new Error("proto");
      },
    },
  );

  it("describes a revoked Proxy, a prototype-less object and a Proxy whose traps throw", () => {
    expect(describeValue(revoked())).toBe("an object");
    expect(describeValue(Object.create(null))).toBe("an object");
    expect(describeValue(hostile)).toBe("an object");
  });

  it("gives a name and a message for whatever was thrown", () => {
    expect(thrownText(new TypeError("bad"))).toMatchObject({ name: "TypeError", message: "bad" });
    expect(thrownText("text")).toEqual({ name: "thrown value", message: "text", stack: null });
    expect(thrownText(Symbol("s"))).toEqual({ name: "thrown value", message: "a symbol", stack: null });
    expect(thrownText(Object.create(null))).toEqual({ name: "thrown value", message: "an object", stack: null });
    expect(thrownText(revoked())).toEqual({ name: "thrown value", message: "an object", stack: null });
    expect(thrownText(hostile)).toEqual({ name: "thrown value", message: "an object", stack: null });
    expect(thrownText(throwingGetters())).toEqual({ name: "Error", message: "", stack: null });
    expect(thrownText("x".repeat(20_000)).message).toHaveLength(10_003);
  });

  it("isInstance is false where instanceof throws", () => {
    expect(isInstance(revoked(), Error)).toBe(false);
    expect(isInstance(new RangeError("r"), Error)).toBe(true);
  });
});
