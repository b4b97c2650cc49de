import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests run inside workerd on a real local D1 with the real migrations (test/setup.ts applies them).
export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url))),
          ADMIN_TOKEN: "test-admin-token-0123456789",
          KEY_PEPPER: "test-pepper",
          ALLOW_PRIVATE_ORIGINS: "false",
          // Short lease so tests that wait out a write stay fast; the protocol is the same at any length.
          AUTH_CACHE_LEASE_MS: "30",
        },
      },
    })),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
  },
});
