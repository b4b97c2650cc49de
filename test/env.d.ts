// Types for the test runtime: the Worker's Env plus what vitest.config.ts binds for tests.
import type { D1Migration } from "cloudflare:test";
import type { Env as KeygateEnv } from "../src/env";
import type * as mainModule from "../src/index";

declare global {
  namespace Cloudflare {
    interface Env extends KeygateEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
    interface GlobalProps {
      mainModule: typeof mainModule;
    }
  }
}
