/**
 * Typed, time-ordered ids: `<prefix>_<10 chars of ms time><16 random chars>` in Crockford base32 (like ULID).
 * Time first means ordering by id is ordering by creation, which is what list pagination and the
 * newest-first audit log rely on.
 */

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

export type IdPrefix = "prj" | "dep" | "key" | "tok" | "evt" | "app" | "pol" | "bud";

let lastTime = 0;

export function newId(prefix: IdPrefix, now = Date.now()): string {
  // Workers freeze Date.now() between I/O, so ids made in one request would tie; keep them strictly
  // increasing within the isolate (a drift of a few ms is harmless: ids are not timestamps).
  lastTime = Math.max(now, lastTime + 1);
  let time = "";
  let t = lastTime;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let tail = "";
  for (const b of random) tail += CROCKFORD[b % 32];
  return `${prefix}_${time}${tail}`;
}
