/**
 * The store's one error, in storage words. The store knows no HTTP: src/errors.ts maps these to the contract's
 * codes (conflict → 409 `conflict`; unavailable and timeout → 503 `store_unavailable`, the fail-closed answer).
 */
export type StoreErrorKind = "unavailable" | "timeout" | "conflict";

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`store ${kind}: ${detail}`, options);
  }
}

/** A D1 failure as a StoreError: a UNIQUE violation is a conflict (the slug or hash is taken), the rest outages. */
export function storeErrorOf(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/UNIQUE constraint failed/i.test(message)) return new StoreError("conflict", "unique constraint", { cause: err });
  return new StoreError("unavailable", message, { cause: err });
}
