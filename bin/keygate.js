#!/usr/bin/env node
// The `keygate` command. Its code is TypeScript (cli/), run by Node's own type stripping (Node ≥ 22.18; a clone's
// `npx keygate` runs the project's Node 24 from node_modules/.bin).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`keygate: this command needs Node 22.18 or newer (this is ${process.version}); in a clone of keygate, run it as \`npx keygate\`.`);
  process.exit(2);
}
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
