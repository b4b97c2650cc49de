#!/usr/bin/env node
// The `keygate` command. In a clone of keygate its code is the TypeScript in cli/, run by Node's own type stripping
// (Node ≥ 22.18; a clone's `npx keygate` runs the project's Node 24 from node_modules/.bin). The published package
// ships no cli/ sources but their JavaScript, compiled into dist/cli by `npm pack` (prepack), since Node strips types
// only outside node_modules: that runs on Node 20 too.
import { existsSync } from "node:fs";

const source = new URL("../cli/main.ts", import.meta.url);
let entry;
if (existsSync(source)) {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 18)) {
    console.error(`keygate: this command needs Node 22.18 or newer (this is ${process.version}); in a clone of keygate, run it as \`npx keygate\`.`);
    process.exit(2);
  }
  entry = source.href;
} else {
  entry = new URL("../dist/cli/main.js", import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
