/**
 * Secret format: `<prefix><body><checksum>`.
 *   prefix   "ik_live_" (API key, data plane) or "ik_sdk_" (management token, control plane)
 *   body     24 base62 characters from the CSPRNG: 24 × log2(62) ≈ 142.9 bits of entropy (contract: ≥ 128)
 *   checksum 6 base62 characters of CRC-32 over prefix + body, so a mistyped or truncated secret is
 *            rejected before any store lookup (the same idea as GitHub's token checksums).
 */

export const API_KEY_PREFIX = "ik_live_";
export const TOKEN_PREFIX = "ik_sdk_";
export type SecretKind = "api_key" | "management_token";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const BODY_LENGTH = 24;
export const CHECKSUM_LENGTH = 6;
/** How many characters of a secret are shown after creation (contract: `start`). */
export const START_LENGTH = 12;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3) of an ASCII string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function checksumOf(prefixAndBody: string): string {
  let n = crc32(prefixAndBody);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** Uniform base62 characters: rejection sampling avoids the modulo bias of `byte % 62`. */
function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b < 248 && out.length < length) out += BASE62[b % 62];
    }
  }
  return out;
}

export function prefixOf(kind: SecretKind): string {
  return kind === "api_key" ? API_KEY_PREFIX : TOKEN_PREFIX;
}

export function generateSecret(kind: SecretKind): string {
  const head = prefixOf(kind) + randomBase62(BODY_LENGTH);
  return head + checksumOf(head);
}

/** The kind a string claims by its prefix alone, before any check of its shape. */
export function claimedKind(secret: string): SecretKind | null {
  if (secret.startsWith(API_KEY_PREFIX)) return "api_key";
  if (secret.startsWith(TOKEN_PREFIX)) return "management_token";
  return null;
}

const BASE62_RUN = /^[0-9A-Za-z]+$/;

/** True when the secret has its prefix, exact length, charset and a matching checksum. Pure; no lookup. */
export function isWellFormed(secret: string, kind: SecretKind): boolean {
  const prefix = prefixOf(kind);
  if (!secret.startsWith(prefix)) return false;
  if (secret.length !== prefix.length + BODY_LENGTH + CHECKSUM_LENGTH) return false;
  const rest = secret.slice(prefix.length);
  if (!BASE62_RUN.test(rest)) return false;
  const head = secret.slice(0, prefix.length + BODY_LENGTH);
  return checksumOf(head) === secret.slice(head.length);
}

export function startOf(secret: string): string {
  return secret.slice(0, START_LENGTH);
}
