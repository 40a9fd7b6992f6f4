// Mocha's spec output, then the one line CI counts: `N passed, N failed`. Pending tests count as failed, because a
// skipped test is not a passing one.
'use strict';
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class TsbuildReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      if (pending > 0) console.log(`${pending} pending test(s) counted as failed`);
      console.log(`${passes} passed, ${failures + pending} failed`);
    });
  }
}
module.exports = TsbuildReporter;
