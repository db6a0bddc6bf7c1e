/** Docs are code: embedded examples and sample reports match their files, and examples run. */
import { describe, expect, it } from "vitest";
import { main as firstExample } from "../examples/first-use-after-free.js";
import { main as leakExample } from "../examples/leak-with-holders.js";
import { main as lockOrderExample } from "../examples/lock-order.js";
import { main as wwExample } from "../examples/ww-backoff.js";
import { main as rwlockIrqExample } from "../examples/rwlock-irq.js";
import { main as exploreExample } from "../examples/explore-lookup-race.js";
import { main as reportKindExample } from "../examples/report-kind.js";
import { docBlocks } from "../scripts/doc-blocks.js";

describe("docs", () => {
  const blocks = docBlocks(process.cwd());

  it("embed at least the README's first example", () => {
    expect(blocks.map((b) => `${b.doc} ${b.marker}`)).toContain("README.md example: examples/first-use-after-free.ts");
  });

  for (const b of blocks) {
    it(`${b.doc}: ${b.marker} is up to date (npm run docs:sync)`, () => {
      expect(b.actual).toBe(b.expected);
    });
  }

  it("the README's first example finds the use-after-free it describes", async () => {
    const text = firstExample();
    await expect(text + "\n").toMatchFileSnapshot("report/__snapshots__/readme-first-example.txt");
    expect(text).toContain("BUG: gpuvm-sim: use-after-free in Bo.size");
    expect(text).toMatch(/freed\s+close\/2\s+step \d+\s+kfree/);
    expect(text).toMatch(/accessed\s+display\/1/);
  });

  it("the holder-tracking example names the holder that leaked", async () => {
    const text = leakExample();
    await expect(text + "\n").toMatchFileSnapshot("report/__snapshots__/docs-leak-with-holders.txt");
    expect(text).toContain('held by "vm_bo"');
    expect(text).not.toContain('held by "exec"');
  });

  it("the lock-order example reports the cycle without a deadlock", async () => {
    const text = lockOrderExample();
    await expect(text + "\n").toMatchFileSnapshot("report/__snapshots__/docs-lock-order.txt");
    expect(text).toContain("WARNING: possible circular locking dependency detected");
    expect(text).toContain("no deadlock happened in this run");
  });

  it("the rwlock example: reads in and out of the irq are fine, the irq-unsafe write is reported once", () => {
    expect(rwlockIrqExample()).toBe("irq-lock-inversion: hardirq inconsistent dev->table_lock");
  });

  it("the ww example backs off sometimes and never deadlocks", () => {
    const [, reports, backoffs] = /(\d+) reports, (\d+) back-offs/.exec(wwExample()) ?? [];
    expect(Number(reports)).toBe(0);
    expect(Number(backoffs)).toBeGreaterThan(0);
  });

  it("the exploration example finds the lookup race and replays it", async () => {
    const text = exploreExample();
    await expect(text + "\n").toMatchFileSnapshot("report/__snapshots__/docs-explore-lookup-race.txt");
    expect(text).toContain("WARNING: refcount_t: addition on 0; use-after-free");
    expect(text).toContain("replayed: refcount-inc-from-zero, diverged: no");
  });

  it("the report-kind example formats and fingerprints a kind no central switch knows", async () => {
    const text = reportKindExample();
    await expect(text + "\n").toMatchFileSnapshot("report/__snapshots__/docs-report-kind.txt");
    expect(text).toContain("WARNING: gpuvm-sim: gfx job timed out");
    expect(text).toMatch(/\nfingerprint: job-timeout: gfx$/);
  });
});
