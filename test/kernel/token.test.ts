/**
 * The token codec: round trips, the pinned text, and bounded rejection of
 * anything that is not a token.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, Sim, TokenError } from "../../src/index.js";
import {
  ChoiceKind,
  choiceCheck,
  choiceKind,
  choiceValue,
  decodeSimToken,
  decodeToken,
  encodeSimToken,
  encodeToken,
  isExploreToken,
  MAX_CHOICE,
  MAX_CHOICE_VALUE,
  packChoice,
  RecordedChoices,
  type TokenData,
} from "../../src/kernel/token.js";

const data: TokenData = {
  version: "0.1.0",
  scenario: "my scenario:v2",
  strategy: "pct(3)",
  seed: 42,
  trace: "0badf00d",
  choices: [35, 35, 35, 35, 1, 36 * 36, 0],
};

const plain = (d: ReturnType<typeof decodeToken>) => ({ ...d, choices: [...d.choices] });

describe("explore tokens", () => {
  it("round-trip, with runs of equal choices written once (format 2, pinned)", () => {
    const token = encodeToken(data);
    expect(token).toBe("gpuvm-sim:2:0.1.0:my%20scenario%3Av2:pct(3):42:0badf00d:z*4.1.100.0");
    expect(isExploreToken(token)).toBe(true);
    expect(plain(decodeToken(token))).toEqual({ ...data, maxSteps: null });
  });

  it("record a step limit after the seed, and read tokens made without one as the default", () => {
    const token = encodeToken({ ...data, maxSteps: 500 });
    expect(token).toBe("gpuvm-sim:2:0.1.0:my%20scenario%3Av2:pct(3):42@500:0badf00d:z*4.1.100.0");
    expect(plain(decodeToken(token))).toEqual({ ...data, maxSteps: 500 });
    expect(decodeToken(encodeToken({ ...data, seed: -7, maxSteps: 1 })).seed).toBe(-7);
    expect(decodeToken("gpuvm-sim:2:0.1.0:s:random:1:00000000:").maxSteps).toBeNull();
  });

  it("round-trip an execution with no choices", () => {
    expect(plain(decodeToken(encodeToken({ ...data, choices: [] })))).toEqual({ ...data, maxSteps: null, choices: [] });
  });

  it("keep choices exact up to 2^32, whatever their kind and check bits", () => {
    const c = packChoice(MAX_CHOICE_VALUE, ChoiceKind.Choose, 0xffffffff);
    expect(c).toBe(MAX_CHOICE);
    expect([choiceValue(c), choiceKind(c), choiceCheck(c)]).toEqual([MAX_CHOICE_VALUE, ChoiceKind.Choose, 15]);
    expect([...decodeToken(encodeToken({ ...data, choices: [c, c, c] })).choices]).toEqual([c, c, c]);
  });

  it("round-trip any choices (property)", () => {
    const value = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: MAX_CHOICE_VALUE - 40, max: MAX_CHOICE_VALUE }), fc.integer({ min: 0, max: MAX_CHOICE_VALUE }));
    const choice = fc.tuple(value, fc.constantFrom(ChoiceKind.Pick, ChoiceKind.Choose), fc.nat(15)).map(([v, k, c]) => packChoice(v, k, c));
    // Runs of equal choices, so the run-length form is exercised.
    const choices = fc.array(fc.tuple(choice, fc.integer({ min: 1, max: 5 })), { maxLength: 30 }).map((runs) => runs.flatMap(([c, n]) => Array<number>(n).fill(c)));
    fc.assert(
      fc.property(choices, fc.string(), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (cs, scenario, seed) => {
        const d = decodeToken(encodeToken({ ...data, scenario, seed, choices: cs }));
        expect([...d.choices]).toEqual(cs);
        expect([d.scenario, d.seed]).toEqual([scenario, seed]);
      }),
    );
  });

  it("reject malformed tokens with a TokenError naming the token", () => {
    const base = "gpuvm-sim:2:0.1.0:s:random:1:00000000:";
    for (const bad of [
      "",
      "gpuvm-sim:1:sim:random:3",
      "gpuvm-sim:2:s:random:1:0",
      `${base.replace(":1:", ":x:")}0`, // a non-numeric seed
      `${base.replace(":1:", ":0x10:")}0`, // a hex seed
      `${base.replace(":1:", "::")}0`, // an empty seed
      `${base.replace(":1:", ":1e3:")}0`,
      `${base.replace(":1:", ":99999999999999999:")}0`, // not a safe integer
      `${base.replace(":1:", ":1@:")}0`, // an empty step limit
      `${base.replace(":1:", ":1@0:")}0`, // a step limit of 0
      `${base.replace(":1:", ":1@-5:")}0`,
      `${base.replace(":1:", ":1@05:")}0`, // a leading zero
      `${base.replace(":1:", ":1@5@5:")}0`,
      `${base.replace(":1:", ":@5:")}0`, // no seed
      `${base.replace(":1:", ":1@99999999999999999:")}0`, // not a safe integer
      `${base.replace("00000000", "xyz")}0`,
      `${base}0*0`, // a run of none
      `${base}-1`, // a negative choice
      `${base}1.`,
      `${base}1..2`,
      `${base}A`, // upper case is not what the encoder writes
      `${base}${(MAX_CHOICE + 1).toString(36)}`, // above 2^32 * 32 + 31
      `${base}zzzzzzzzz`, // too many digits
      `${base}1*${(1e12).toString(36)}`, // a run length of 10^12
      `${base}1*zzzzzz.2*zzzzzz`, // more than MAX_CHOICES in all
      `${base}0:1`, // too many fields
      "gpuvm-sim:2:0.1.0:%E0%A4%A:random:1:00000000:", // a bad escape
      "gpuvm-sim:2::s:random:1:00000000:", // no version
    ]) {
      expect(() => decodeToken(bad)).toThrow(TokenError);
      expect(() => decodeToken(bad)).toThrow(expect.objectContaining({ argument: "token" }) as Error);
    }
    expect(new TokenError("token", "why", "x")).toBeInstanceOf(ArgumentError);
    expect(isExploreToken("gpuvm-sim:1:sim:random:3")).toBe(false);
  });

  it("reject a megabyte of garbage in one pass, and huge runs without expanding them", () => {
    // Bounded by construction (one pass, digits capped, runs kept as runs);
    // these would run out of memory or time if they were not.
    const garbage = `gpuvm-sim:2:0.1.0:s:random:1:00000000:${"1.".repeat(500_000)}!`;
    expect(() => decodeToken(garbage)).toThrow(TokenError);
    const huge = decodeToken(`gpuvm-sim:2:0.1.0:s:random:1:00000000:1*${(2 ** 31).toString(36)}.2*${(2 ** 31).toString(36)}`);
    expect(huge.choices.length).toBe(2 ** 32);
    expect([huge.choices.at(0), huge.choices.at(2 ** 31), huge.choices.at(2 ** 32)]).toEqual([1, 2, undefined]);
  });

  it("never throws anything but a TokenError on any string (property)", () => {
    const alphabet = fc.constantFrom(..."gpuvm-sim:2.0*1az%E-x".split(""));
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: alphabet }),
      fc.string({ unit: alphabet }).map((s) => `gpuvm-sim:2:0.1.0:s:random:1:00000000:${s}`),
      fc.string({ unit: alphabet }).map((s) => `gpuvm-sim:2:${s}`),
    );
    fc.assert(
      fc.property(text, (s) => {
        try {
          decodeToken(s);
        } catch (e) {
          expect(e).toBeInstanceOf(TokenError);
        }
      }),
    );
  });
});

describe("RecordedChoices", () => {
  it("reads runs in and out of order", () => {
    const c = RecordedChoices.of([5, 5, 7, 9, 9, 9]);
    expect(c.runs()).toEqual([
      [5, 2],
      [7, 1],
      [9, 3],
    ]);
    expect([c.at(5), c.at(0), c.at(2), c.at(6), c.at(-1)]).toEqual([9, 5, 7, undefined, undefined]);
    expect([...c]).toEqual([5, 5, 7, 9, 9, 9]);
  });
});

describe("Sim tokens", () => {
  it("round-trip and reject anything else with a TokenError naming the option", () => {
    expect(encodeSimToken({ strategy: "random", seed: 99 })).toBe("gpuvm-sim:1:sim:random:99");
    expect(decodeSimToken("gpuvm-sim:1:sim:round-robin:-3")).toEqual({ strategy: "round-robin", seed: -3, maxSteps: null });
    for (const bad of [
      "",
      "gpuvm-sim:1:sim:random:",
      "gpuvm-sim:1:sim:random:0x10",
      "gpuvm-sim:1:sim:fifo:1",
      "gpuvm-sim:1:sim:random:1:2",
      "gpuvm-sim:1:sim:random:1@",
      "gpuvm-sim:1:sim:random:1@0",
      "gpuvm-sim:1:sim:random:@5",
      "gpuvm-sim:1:sim:random:1@x",
    ]) {
      expect(() => new Sim({ replay: bad })).toThrow(expect.objectContaining({ name: "TokenError", argument: "replay" }) as Error);
    }
  });
});

describe("Sim tokens and the step limit", () => {
  it("record a step limit other than the default, and a Sim made from the token runs under it", () => {
    const sim = new Sim({ seed: 5, maxSteps: 20, onReport: "collect" });
    expect(sim.replayToken).toBe("gpuvm-sim:1:sim:random:5@20");
    expect(new Sim({ seed: 5 }).replayToken).toBe("gpuvm-sim:1:sim:random:5");
    expect(new Sim({ seed: 5, maxSteps: 1_000_000 }).replayToken).toBe("gpuvm-sim:1:sim:random:5");
    const spin = (s: Sim) => {
      s.spawn("t", "process", function* () {
        for (let i = 0; i < 100; i++) yield* condResched();
      });
      s.runAll();
      return s.reports.map((r) => [r.kind, r.step]);
    };
    const first = spin(sim);
    expect(first).toEqual([["step-limit", 20]]);
    const again = new Sim({ replay: sim.replayToken, onReport: "collect" });
    expect(again.maxSteps).toBe(20);
    expect(spin(again)).toEqual(first);
  });

  it("refuse a maxSteps option that contradicts the token's, naming maxSteps; agree with one that matches", () => {
    expect(() => new Sim({ replay: "gpuvm-sim:1:sim:random:5@20", maxSteps: 30 })).toThrow(expect.objectContaining({ name: "ArgumentError", argument: "maxSteps" }) as Error);
    expect(() => new Sim({ replay: "gpuvm-sim:1:sim:random:5", maxSteps: 30 })).toThrow(/step limit of 1000000/);
    expect(new Sim({ replay: "gpuvm-sim:1:sim:random:5@20", maxSteps: 20 }).maxSteps).toBe(20);
  });
});

describe("sim.choose(n)", () => {
  it("takes n up to 2^32 and names n otherwise", () => {
    const sim = new Sim({ onReport: "collect" });
    expect(() => sim.choose(MAX_CHOICE_VALUE)).not.toThrow();
    for (const n of [0, -1, 1.5, MAX_CHOICE_VALUE + 1, Number.NaN]) {
      expect(() => sim.choose(n)).toThrow(ArgumentRangeError);
      expect(() => sim.choose(n)).toThrow(expect.objectContaining({ argument: "n" }) as Error);
    }
  });
});
