/**
 * Optional per-key rate limiting through Cloudflare's Rate Limiting binding (a `[[ratelimits]]` entry named
 * KEY_RATE_LIMITER in wrangler.toml; see README "Configuration"). Without the binding there is no limit, as the
 * contract says ("none unless configured"). Counters are per Cloudflare location and approximate, as the binding's.
 *
 * A limiter that fails lets the request through and logs: the limiter protects capacity, not access — access is
 * the key decision, which fails closed on its own.
 */
import { ApiError } from "../errors";
import { logLine } from "../log";

/** @param periodS the binding's period (config), sent as Retry-After */
export async function enforceRateLimit(
  limiter: RateLimit | undefined,
  periodS: number,
  keyId: string,
  requestId: string,
): Promise<void> {
  if (!limiter) return;
  let success: boolean;
  try {
    ({ success } = await limiter.limit({ key: keyId }));
  } catch (err) {
    logLine({ level: "error", msg: "rate limiter failed", request_id: requestId, error: String(err) });
    return;
  }
  if (!success) {
    throw new ApiError("rate_limited", "Too many requests for this key; retry later.", null, {
      headers: { "retry-after": String(periodS) },
    });
  }
}
