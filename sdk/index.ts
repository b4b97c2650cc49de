/**
 * keygate's TypeScript SDK (`keygate/sdk`): fetch alone, no runtime dependency; Node ≥ 20, Workers and browsers.
 * docs/sdk.md shows it in use.
 */
export { ManagementClient, type ManagementClientOptions } from "./management.ts";
export { DataClient, type DataClientOptions } from "./data.ts";
export { KeygateError, type KeygateErrorFields, type KeygateErrorType } from "./errors.ts";
export { List, MAX_PAGE, type PageBody } from "./pages.ts";
export type { Ensured, EnsureStatus } from "./ensure.ts";
export { AmbiguousNameError, ImmutableFieldError, type DesiredApplication, type DesiredKey, type DesiredPolicy, type Drift } from "./drift.ts";
export { DEFAULT_BASE_URL, VARIABLES, type Environment } from "./settings.ts";
export type * from "./openapi.ts";
