// .dev.vars: the local secrets `wrangler dev` reads (git-ignored). `npm start` creates it once and then leaves it alone.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

/**
 * Reads `file`, or creates it with fresh random secrets when it does not exist.
 * @param {string} file
 * @returns {{ created: boolean, vars: Record<string, string> }}
 */
export function ensureDevVars(file) {
  try {
    return { created: false, vars: parseDevVars(readFileSync(file, "utf8")) };
  } catch (err) {
    if (err.code !== "ENOENT") throw new Error(`cannot read ${file}: ${err.message}`);
  }
  const vars = {
    ADMIN_TOKEN: randomBytes(32).toString("base64url"),
    KEY_PEPPER: randomBytes(32).toString("base64url"),
    ALLOW_PRIVATE_ORIGINS: "true",
  };
  const text = [
    "# Local secrets for `wrangler dev`, created by `npm start`. Git-ignored; never used in production,",
    "# where they are Worker secrets (`npx wrangler secret put`, see docs/deploy.md).",
    "# ADMIN_TOKEN: the root admin bearer token for /admin/v1.",
    "# KEY_PEPPER: HMAC key for stored secret hashes. Changing it breaks every key and token created with it.",
    "# ALLOW_PRIVATE_ORIGINS: lets deployments use http:// and loopback origins such as the demo origin.",
    ...Object.entries(vars).map(([name, value]) => `${name}=${value}`),
    "",
  ].join("\n");
  // "wx": never overwrite a file that appeared meanwhile; 0600: only this user may read the secrets.
  writeFileSync(file, text, { mode: 0o600, flag: "wx" });
  return { created: true, vars };
}

/** The subset of dotenv syntax .dev.vars files use: NAME=value, optional `export `, optional quotes, # comments. */
export function parseDevVars(text) {
  /** @type {Record<string, string>} */
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2];
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    else value = value.replace(/\s+#.*$/, "");
    vars[match[1]] = value;
  }
  return vars;
}
