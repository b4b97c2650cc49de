/**
 * Secret hashing. Only hashes are stored (docs/storage.md).
 *   hash_version 1: hex HMAC-SHA-256 keyed by KEY_PEPPER — a stolen database alone cannot test guesses.
 *   hash_version 0: hex SHA-256, used when no pepper is set.
 * Secrets carry ≥128 bits of entropy, so a fast hash is enough; a slow KDF would only cost latency.
 * When a pepper is added later, lookups try both forms, so keys made before it keep working.
 */

export type HashVersion = 0 | 1;
export interface SecretHash {
  hash: string;
  version: HashVersion;
}

const encoder = new TextEncoder();
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function toHex(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

function hmacKey(pepper: string): Promise<CryptoKey> {
  let key = hmacKeys.get(pepper);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(pepper), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(pepper, key);
  }
  return key;
}

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** The hash a new secret is stored under. */
export async function hashSecret(secret: string, pepper: string | null): Promise<SecretHash> {
  if (!pepper) return { hash: await sha256Hex(secret), version: 0 };
  return { hash: toHex(await crypto.subtle.sign("HMAC", await hmacKey(pepper), encoder.encode(secret))), version: 1 };
}

/** Every hash a stored secret could be under: the current form first, then the pre-pepper form. */
export async function lookupHashes(secret: string, pepper: string | null): Promise<string[]> {
  const current = await hashSecret(secret, pepper);
  return current.version === 1 ? [current.hash, await sha256Hex(secret)] : [current.hash];
}

/**
 * Constant-time string equality for the ADMIN_TOKEN check. Both sides are hashed first so the comparison
 * runs over equal-length digests and leaks neither content nor length.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  // Equal-length digests compared without an early exit. (Workers also has crypto.subtle.timingSafeEqual; this
  // loop runs the same everywhere, so the unit tests can run it in Node.)
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= x[i]! ^ y[i]!;
  return difference === 0;
}
