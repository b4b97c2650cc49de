/**
 * How a data-plane request arrived, which decides its endpoint (docs/api.md, "Endpoints"):
 *   - through the Worker's `PrivateEndpoint` entrypoint, over a service binding of another Worker of the account:
 *     private, and the caller's identity is what whoever deployed that caller put in the binding's `props`;
 *   - to PRIVATE_HOSTNAME with a client certificate the edge verified: private, with the certificate's fingerprint;
 *   - anything else: public.
 */
export type Arrival =
  | { endpoint: "public" }
  | { endpoint: "private"; via: "binding"; caller: string | null }
  /** `certificate`: the verified certificate's fingerprint, or null (then the request is refused: 403). */
  | { endpoint: "private"; via: "mtls"; certificate: string | null };

export const PUBLIC: Arrival = { endpoint: "public" };

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The SHA-256 fingerprint (lower-case hex) of a client certificate the edge verified and has not seen revoked;
 * null for anything else. Every field is a string in `request.cf.tlsClientAuth`, and an absent certificate is not an
 * absent object: without mTLS on the hostname the edge sends a placeholder (`certVerified: "NONE"`, empty
 * fingerprint), and `wrangler dev` sends no `tlsClientAuth` at all. Each of those is "no certificate", never a pass.
 */
export function verifiedCertificate(request: Request): string | null {
  const cf = request.cf as { tlsClientAuth?: Record<string, unknown> } | undefined;
  const tls = cf?.tlsClientAuth;
  if (typeof tls !== "object" || tls === null) return null;
  if (tls.certPresented !== "1" || tls.certVerified !== "SUCCESS" || tls.certRevoked !== "0") return null;
  const fingerprint = typeof tls.certFingerprintSHA256 === "string" ? tls.certFingerprintSHA256.toLowerCase() : "";
  return SHA256_HEX.test(fingerprint) ? fingerprint : null;
}

/** The caller a service binding's `props` name (`{"caller": "billing-api"}`), for the log line; null if none. */
export function callerOf(props: unknown): string | null {
  const caller = typeof props === "object" && props !== null ? (props as { caller?: unknown }).caller : undefined;
  return typeof caller === "string" && /^[\x21-\x7e]{1,128}$/.test(caller) ? caller : null;
}
