/** Rewrite the embedded examples and sample reports in README.md and docs/. */
import { readFileSync, writeFileSync } from "node:fs";
import { docFiles, syncedText } from "./doc-blocks.js";

const root = process.cwd();
for (const doc of docFiles(root)) {
  const next = syncedText(root, doc);
  if (next !== readFileSync(doc, "utf8")) {
    writeFileSync(doc, next);
    console.log(`updated ${doc}`);
  }
}
