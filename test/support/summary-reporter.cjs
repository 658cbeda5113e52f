// Spec output for people, then one closing line `N passed, N failed, N skipped` for CI.
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0, failed = 0, skipped = 0;
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => { passed++; });
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => { failed++; });
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, () => { skipped++; });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      // Spec registered its epilogue first, so this stays the last line
      process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    });
  }
}
module.exports = SummaryReporter;
