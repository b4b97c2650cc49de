/**
 * Glob patterns for `user_agents`: `*` is any run of characters (possibly empty), `?` exactly one, everything
 * else literal and case-sensitive. No character classes, no escapes: `Terraform/*` is the whole language.
 *
 * The User-Agent is attacker controlled, so matching must never blow up: a regex translation of `*a*a*a*b`
 * backtracks exponentially on some engines. This is the iterative two-pointer wildcard match instead — it only
 * ever remembers the last `*`, so the worst case is O(pattern × text) and the memory is constant.
 */

export const MAX_GLOB_LENGTH = 256;

const STAR = 42; // "*"
const QUESTION = 63; // "?"

/** Compares UTF-16 code units; patterns are printable ASCII (validateGlob), so `?` is one ASCII character. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // Where the last `*` was seen, and the text position it is currently assumed to stretch to.
  let starAt = -1;
  let starText = 0;

  while (t < text.length) {
    const pc = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (pc === STAR) {
      starAt = p++;
      starText = t; // first try: the star matches nothing
    } else if (pc === QUESTION || (pc !== -1 && pc === text.charCodeAt(t))) {
      p++;
      t++;
    } else if (starAt !== -1) {
      // Mismatch after a star: let that star swallow one more character and retry from just after it.
      // Earlier stars never need revisiting, which is what keeps this linear per star position.
      p = starAt + 1;
      t = ++starText;
    } else {
      return false;
    }
  }
  // Text consumed: only stars may remain in the pattern.
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

/** Write-time check of one pattern: an error sentence, or null when it is fine. */
export function validateGlob(pattern: string): string | null {
  if (pattern.length === 0) return "must not be empty";
  if (pattern.length > MAX_GLOB_LENGTH) return `must be at most ${MAX_GLOB_LENGTH} characters`;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    // A User-Agent is an HTTP field value: visible ASCII and spaces (RFC 9110 §5.5, §10.1.5).
    if (c < 0x20 || c > 0x7e) return "must contain only printable ASCII characters";
  }
  return null;
}
