/**
 * docs/va-tree.md: a VaTree holding three mappings, looked up by address,
 * walked over a range, and refusing an overlapping insert.
 * Run it with `npx tsx examples/va-tree.ts`.
 */
import { ArgumentError, VaTree } from "../src/index.js";

export function main(): string {
  const tree = new VaTree<string>();
  // addr + range, as in drm_gpuvm: range is a length in bytes.
  tree.insert(0x10000, 0x4000, "A");
  tree.insert(0x14000, 0x1000, "B");
  tree.insert(0x20000, 0x2000, "C");

  const lines: string[] = [];
  lines.push(`containing 0x14800: ${tree.findContaining(0x14800) ?? "none"}`);
  lines.push(`containing 0x18000: ${tree.findContaining(0x18000) ?? "none"}`);
  const walked: string[] = [];
  tree.forEachInRange(0x13000, 0xe000, (value, addr, range) => {
    walked.push(`${value}@0x${addr.toString(16)}+0x${range.toString(16)}`);
  });
  lines.push(`overlapping [0x13000, +0xe000): ${walked.join(" ")}`);
  lines.push(`after B: ${tree.next(0x14000) ?? "none"}, before B: ${tree.prev(0x14000) ?? "none"}`);
  try {
    tree.insert(0x12000, 0x1000, "D");
  } catch (e) {
    if (e instanceof ArgumentError) lines.push(`refused: ${e.argument}`);
  }
  lines.push(`removed ${tree.remove(0x14000) ?? "none"}; ${tree.size} left`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("va-tree.ts") === true) console.log(main());
