/**
 * Optional per-key rate limiting through Cloudflare's Rate Limiting binding (a `[[ratelimits]]` entry named
 * KEY_RATE_LIMITER in wrangler.toml; see README "Configuration"). Without the binding there is no limit, as the
 * contract says ("none unless configured"). Counters are per Cloudflare location and approximate, as the binding's.
 *
 * A limiter that fails lets the request through and logs: the limiter protects capacity, not access — access is
 * the key decision, which fails closed on its own.
 */
import type { Env } from "../env";
import { ApiError } from "../errors";
import { logLine } from "../log";

export const DEFAULT_RATE_LIMIT_PERIOD_S = 60;

export async function enforceRateLimit(env: Env, keyId: string, requestId: string): Promise<void> {
  const limiter = env.KEY_RATE_LIMITER;
  if (!limiter) return;
  let success: boolean;
  try {
    ({ success } = await limiter.limit({ key: keyId }));
  } catch (err) {
    logLine({ level: "error", msg: "rate limiter failed", request_id: requestId, error: String(err) });
    return;
  }
  if (!success) {
    const period = Number(env.KEY_RATE_LIMIT_PERIOD_S) || DEFAULT_RATE_LIMIT_PERIOD_S;
    throw new ApiError("rate_limited", "Too many requests for this key; retry later.", null, {
      headers: { "retry-after": String(period) },
    });
  }
}
