// The order of the test files: jest's own (the slowest first, from its cache of durations), except
// that the tiers that need a tool built in the background run last: the Istio tier, then those that
// need Argo CD. On a cold cache, `make test` builds the Istio harness (about 7 minutes) then Argo CD
// (about 20) in the background while the other tiers run; these wait for them (scripts/tools.sh
// holds each build's lock), so they should come when the builds are nearly done.
const Sequencer = require('@jest/test-sequencer').default;

const NEEDS_ISTIO = /istio\.test\.ts$/;
const NEEDS_ARGOCD = /(gitops\.e2e|argocd|admission)\.test\.ts$/;

class BackgroundBuildsLast extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const last = (t) => NEEDS_ISTIO.test(t.path) || NEEDS_ARGOCD.test(t.path);
    return [...sorted.filter((t) => !last(t)), ...sorted.filter((t) => NEEDS_ISTIO.test(t.path)), ...sorted.filter((t) => NEEDS_ARGOCD.test(t.path))];
  }
}

module.exports = BackgroundBuildsLast;
