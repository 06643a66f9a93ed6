import { defineConfig } from "vitest/config"

// Tests run the workspace packages from their TypeScript sources, through the `@subshift/source`
// export condition, so no build is needed first; the rest are Vite's own defaults.
const sourceFirst = (defaults: ReadonlyArray<string>) => ["@subshift/source", ...defaults]

export default defineConfig({
  resolve: { conditions: sourceFirst(["module", "browser", "development|production"]) },
  ssr: { resolve: { conditions: sourceFirst(["module", "node", "development|production"]) } },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
    fakeTimers: { toFake: undefined },
    sequence: { concurrent: true },
    testTimeout: 30_000
  }
})
