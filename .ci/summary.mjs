// Turns vitest's JSON report into the one line CI reads: "N passed, N failed".
// Usage: node .ci/summary.mjs <report.json> <vitest exit code> [failed CI step...]
// A failure that vitest does not count as a failed test (a file that crashed on
// import, a test skipped because its beforeAll threw, an unhandled error, a run
// that wrote no report) still counts as a failure here, so nothing is hidden.
// Each failed CI step named after the exit code (e.g. "typecheck") counts as one failure.
// Exits 1 when anything failed, when nothing passed, or when vitest failed.
import { readFileSync } from "node:fs";
import { relative } from "node:path";

const [reportPath, exitCodeArg = "0", ...failedSteps] = process.argv.slice(2);
const vitestExit = Number(exitCodeArg);

function readReport(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    console.log(`summary: no usable vitest JSON report at ${path}: ${err.message}`);
    return undefined;
  }
}

/** Failures in one file, counting tests that never ran because the file or a hook failed. */
function fileFailures(file) {
  const results = file.assertionResults ?? [];
  const failed = results.filter((r) => r.status === "failed").length;
  if (file.status !== "failed") return failed;
  const notRun = results.filter((r) => r.status === "skipped" || r.status === "pending").length;
  return Math.max(1, failed + notRun);
}

function summarize(report) {
  const passed = report.numPassedTests ?? 0;
  let failed = 0;
  for (const file of report.testResults ?? []) {
    const n = fileFailures(file);
    failed += n;
    if (file.status === "failed") {
      const reason = (file.message || "failing tests").split("\n")[0].slice(0, 200);
      console.log(`summary: FAILED ${relative(process.cwd(), file.name)} (${n}): ${reason}`);
    }
  }
  if (failed === 0 && (report.success === false || vitestExit !== 0)) {
    console.log(`summary: vitest failed outside any test (unhandled error or setup failure; exit code ${vitestExit})`);
    failed = 1;
  }
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (skipped > 0) console.log(`summary: ${skipped} skipped or todo tests (counted as failures only inside failed files)`);
  return { passed, failed };
}

const report = readReport(reportPath);
const { passed, failed } = report === undefined ? { passed: 0, failed: 1 } : summarize(report);
for (const step of failedSteps) console.log(`summary: CI step failed: ${step}`);
console.log(`${passed} passed, ${failed + failedSteps.length} failed`);
process.exitCode = failed > 0 || failedSteps.length > 0 || passed === 0 || vitestExit !== 0 ? 1 : 0;
