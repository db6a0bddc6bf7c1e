/**
 * Docs are code: README.md and docs/*.md embed examples and sample reports
 * from real files, between markers:
 *
 *   <!-- example: examples/first-use-after-free.ts -->   a ```ts block
 *   <!-- report: use-after-free -->                      a ```text block
 *
 * Examples are shown with the package name in their import (`gpuvm-sim`,
 * `gpuvm-sim/vitest`); reports come from
 * the pinned snapshot files of test/report. `npm run docs:sync` rewrites the
 * blocks; test/docs.test.ts fails when a block is stale.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface DocBlock {
  readonly doc: string;
  readonly marker: string;
  /** The text the block must contain. */
  readonly expected: string;
  /** The text the block contains now. */
  readonly actual: string;
}

const MARKER = /<!-- (example|report): (\S+) -->\n```(\w+)\n([\s\S]*?)```\n/g;

export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => join("docs", f));
  return ["README.md", ...docs];
}

function expectedFor(root: string, kind: string, ref: string): string {
  const path = kind === "example" ? join(root, ref) : join(root, "test/report/__snapshots__", `${ref}.txt`);
  if (!existsSync(path)) return `(missing file ${path})\n`;
  const text = readFileSync(path, "utf8");
  return kind === "example" ? text.replaceAll('from "../src/index.js"', 'from "gpuvm-sim"').replaceAll('from "../../src/index.js"', 'from "gpuvm-sim"').replaceAll('from "../src/vitest.js"', 'from "gpuvm-sim/vitest"').replaceAll('import "../src/vitest.js"', 'import "gpuvm-sim/vitest"') : text;
}

export function docBlocks(root: string): DocBlock[] {
  const out: DocBlock[] = [];
  for (const doc of docFiles(root)) {
    const text = readFileSync(join(root, doc), "utf8");
    for (const m of text.matchAll(MARKER)) {
      const [, kind = "", ref = "", , body = ""] = m;
      out.push({ doc, marker: `${kind}: ${ref}`, expected: expectedFor(root, kind, ref), actual: body });
    }
  }
  return out;
}

/** The document with every block replaced by its expected text. */
export function syncedText(root: string, doc: string): string {
  const text = readFileSync(join(root, doc), "utf8");
  return text.replace(MARKER, (_m, kind: string, ref: string, lang: string) => {
    return `<!-- ${kind}: ${ref} -->\n\`\`\`${lang}\n${expectedFor(root, kind, ref)}\`\`\`\n`;
  });
}
