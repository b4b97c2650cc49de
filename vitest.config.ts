import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The pure suites: no I/O, no Worker runtime (the decision, secrets, time, configuration, paths, header filters,
 * budget periods, metering, the SDK's settings and transport).
 * They run in plain Node in seconds (`npm run test:unit`), and only there.
 */
const UNIT_TESTS = [
  "test/authz/**/*.test.ts",
  "test/secrets/**/*.test.ts",
  "test/config/**/*.test.ts",
  "test/time/**/*.test.ts",
  "test/store/revisions.test.ts",
  "test/gateway/headers.test.ts",
  "test/gateway/model-pin.test.ts",
  "test/metering/**/*.test.ts",
  "test/fuzz/**/*.test.ts",
  "test/budgets/period.test.ts",
  "test/sdk/settings.test.ts",
  "test/sdk/transport.test.ts",
  "test/console/scripts.test.mjs",
];

// Three projects, all run by `vitest run` (and so by `npm test`); `--project unit|workers|e2e` picks one.
export default defineConfig({
  test: {
    // The Worker logs one JSON line per request; show console output only for tests that fail.
    silent: "passed-only",
    projects: [
      {
        extends: false,
        // One worker for every file: the suites are pure, so nothing leaks between them, and start-up is most of their time.
        test: { name: "unit", include: UNIT_TESTS, environment: "node", isolate: false },
      },
      {
        // The Worker's tests run inside workerd on a real local D1 with the real migrations (test/setup.ts applies
        // them).
        extends: false,
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // A second, empty database, for the test that upgrades a wave-1 schema in place.
              d1Databases: { UPGRADE_DB: "upgrade-test" },
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url))),
                ADMIN_TOKEN: "test-admin-token-0123456789",
                KEY_PEPPER: "test-pepper",
                ALLOW_PRIVATE_ORIGINS: "false",
                // Short lease so tests that wait out a write stay fast; the protocol is the same at any length.
                AUTH_CACHE_LEASE_MS: "30",
                // Usage batches a few ms apart, so a test that reads usage back does not wait out the 5 s default
                // (the default's own coalescing is tested with it set: usage-and-logs.test.ts).
                USAGE_FLUSH_MS: "20",
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: UNIT_TESTS,
          setupFiles: ["./test/setup.ts"],
          // Vitest's 5 s default is a timing assertion in disguise: on a loaded 2-core CI machine a file's first test
          // (the Worker's first request, key generation) has passed it. No test here waits on purpose that long.
          testTimeout: 30_000,
        },
      },
      {
        // End to end, in plain Node: each file starts keygate with `npm start`'s script (wrangler dev and the demo
        // origin, on free ports, with a fresh local state) and drives it with curl, the README's commands and the
        // official openai package. One file at a time: they start servers and may create .dev.vars.
        extends: false,
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
