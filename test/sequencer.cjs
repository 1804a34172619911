// The order of the test files: jest's own (the slowest first, from its cache of durations), except
// that the tiers that need Argo CD run last. On a cold cache, `make test` builds Argo CD (about 20
// minutes) in the background while the other tiers run; these wait for it (scripts/tools.sh holds
// the build's lock), so they should come when it is nearly done.
const Sequencer = require('@jest/test-sequencer').default;

const NEEDS_ARGOCD = /(gitops\.e2e|argocd|admission)\.test\.ts$/;

class ArgoCdLast extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted.filter((t) => !NEEDS_ARGOCD.test(t.path)), ...sorted.filter((t) => NEEDS_ARGOCD.test(t.path))];
  }
}

module.exports = ArgoCdLast;
