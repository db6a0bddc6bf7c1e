import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Fails a test whose collecting Sim saw a task exception it did not expect (test/support/collecting-sim.ts).
    setupFiles: ["test/support/setup.ts"],
    // The footprint check is on in this project's own tests (see Checks.footprint).
    env: { GPUVM_SIM_FOOTPRINT: "1" },
    coverage: { provider: "v8", include: ["src/**"], reporter: ["text"] },
  },
});
