/** The command line's output to readers that go away: src/cli/output.ts, and every command run with a closed pipe. */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { EXIT, Output, PipeClosed } from "../../src/cli/main.js";
import { ABBA_TOKEN, FIXTURE, spawnCli } from "./helpers.js";

/** A stand-in for process.stdout or stderr: records writes; `fail()` emits an error as a closed pipe does. */
class FakeStream extends EventEmitter {
  written = "";
  destroyed = false;
  write(s: string): boolean {
    this.written += s;
    return true;
  }
  fail(code: string): void {
    this.destroyed = true;
    this.emit("error", Object.assign(new Error(`write ${code}`), { code }));
  }
}

describe("Output", () => {
  it("writes through until stdout's pipe closes, then throws PipeClosed and maps every status to 0", () => {
    const stdout = new FakeStream();
    const stderr = new FakeStream();
    const out = new Output(stdout, stderr);
    out.write("one\n");
    expect(out.exitCode(EXIT.bug)).toBe(EXIT.bug);
    stdout.fail("EPIPE");
    expect(() => {
      out.write("two\n");
    }).toThrow(PipeClosed);
    expect(stdout.written).toBe("one\n");
    expect(out.stdoutClosed).toBe(true);
    for (const code of Object.values(EXIT)) expect(out.exitCode(code)).toBe(0);
    // stderr still works.
    out.writeErr("still here\n");
    expect(stderr.written).toBe("still here\n");
  });

  it("drops writes to a closed stderr and keeps the status", () => {
    const stdout = new FakeStream();
    const stderr = new FakeStream();
    const out = new Output(stdout, stderr);
    stderr.fail("EPIPE");
    out.writeErr("lost\n");
    expect(stderr.written).toBe("");
    out.write("kept\n");
    expect(stdout.written).toBe("kept\n");
    expect(out.exitCode(EXIT.error)).toBe(EXIT.error);
  });

  it("leaves other stream errors alone: they are real failures", () => {
    const stdout = new FakeStream();
    new Output(stdout, new FakeStream());
    expect(() => {
      stdout.fail("EIO");
    }).toThrow("write EIO");
  });
});

// The commands, spawned with the read end of a pipe closed before they
// write, as `gpuvm-sim demo | head -2` does once head has its lines: exit 0,
// nothing on stderr, whatever the command would have said.
describe("a closed pipe", { timeout: 30_000 }, () => {
  it("ends demo quietly with 0", async () => {
    expect(await spawnCli(["demo", "--seeds", "5"], "stdout")).toMatchObject({ code: 0, signal: null, err: "" });
  });

  it("ends explore with 0, though it found a failure (status 1 means a bug found, not a reader gone)", async () => {
    expect(await spawnCli(["explore", FIXTURE, "abba"], "stdout")).toMatchObject({ code: 0, err: "" });
    expect(await spawnCli(["explore", FIXTURE, "--all", "--json", "--executions", "5"], "stdout")).toMatchObject({ code: 0, err: "" });
  });

  it("ends replay and --help with 0", async () => {
    expect(await spawnCli(["replay", FIXTURE, "abba", ABBA_TOKEN], "stdout")).toMatchObject({ code: 0, err: "" });
    expect(await spawnCli(["--help"], "stdout")).toMatchObject({ code: 0, err: "" });
  });

  it("on stderr, drops what would go there and keeps the command's status", async () => {
    expect(await spawnCli(["explore", "no/such/module.ts"], "stderr")).toMatchObject({ code: EXIT.error, out: "" });
    const found = await spawnCli(["explore", FIXTURE, "abba"], "stderr");
    expect(found.code).toBe(EXIT.bug);
    expect(found.out).toMatch(/^Failure 1 of 1: lock-order-cycle/);
  });

  it("an open pipe: the same commands keep their statuses", async () => {
    const found = await spawnCli(["explore", FIXTURE, "abba", "--json"]);
    expect(found).toMatchObject({ code: EXIT.bug, err: "" });
    expect(JSON.parse(found.out)).toMatchObject({ module: FIXTURE });
  });
});
