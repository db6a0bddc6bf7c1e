import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The footprint check is on in this project's own tests (see Checks.footprint).
    env: { GPUVM_SIM_FOOTPRINT: "1" },
    coverage: { provider: "v8", include: ["src/**"], reporter: ["text"] },
  },
});
