import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", cli: "src/cli/main.ts", vitest: "src/vitest.ts", worker: "src/explore/worker.ts" },
  format: ["esm", "cjs"],
  dts: { entry: { index: "src/index.ts", vitest: "src/vitest.ts" }, compilerOptions: { ignoreDeprecations: "6.0", stripInternal: true } },
  sourcemap: true,
  clean: true,
  target: "node20",
});
