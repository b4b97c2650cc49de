// Types for the test runtime: the Worker's generated Cloudflare.Env (src/worker-configuration.d.ts) plus what
// vitest.config.ts binds for tests.
import type { D1Migration } from "cloudflare:test";
import type * as mainModule from "../src/index";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** An empty database of its own (test/worker/migrations.test.ts). */
      UPGRADE_DB: D1Database;
    }
    interface GlobalProps {
      mainModule: typeof mainModule;
    }
  }
}
