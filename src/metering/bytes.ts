/** Byte searches for the meter, on the runtime's native indexOf (a search for the first byte, then a comparison). */

export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  for (let at = haystack.indexOf(first, from); at !== -1 && at <= last; at = haystack.indexOf(first, at + 1)) {
    if (startsWithAt(haystack, needle, at)) return at;
  }
  return -1;
}

/** The last occurrence that starts at or before `from`. */
export function lastIndexOfBytes(
  haystack: Uint8Array,
  needle: Uint8Array,
  from = haystack.length - needle.length,
): number {
  if (from < 0) return -1; // a negative start counts from the end in TypedArray.lastIndexOf
  const first = needle[0]!;
  for (let at = haystack.lastIndexOf(first, from); at !== -1; at = at > 0 ? haystack.lastIndexOf(first, at - 1) : -1) {
    if (startsWithAt(haystack, needle, at)) return at;
  }
  return -1;
}

export function startsWithAt(haystack: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (at < 0 || at + needle.length > haystack.length) return false;
  for (let k = 0; k < needle.length; k++) if (haystack[at + k] !== needle[k]) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && startsWithAt(a, b, 0);
}
