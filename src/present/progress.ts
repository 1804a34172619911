// Turns the App objects a watch delivers into the lines `aerogrid push --wait` prints and
// a verdict. Pure, so that every path (refused, building, failed, ready) is unit-tested
// without a cluster.

type Obj = Record<string, any>;

export type Verdict = { done: false } | { done: true; ok: true; url: string } | { done: true; ok: false; reason: string };

/** sha256:3f2a11112222… as the platform's own messages shorten a digest; `fallback` when there is none. */
export const short = (digest: unknown, fallback = '') => (typeof digest === 'string' ? `${digest.slice(0, 'sha256:'.length + 12)}…` : fallback);

export class Progress {
  private readonly printed = new Set<string>();

  /**
   * @param generation the App's metadata.generation after the push; older statuses are ignored.
   * @param since when the push was applied: a refusal older than that is about an earlier push.
   */
  constructor(private readonly generation: number, private readonly since: Date, private readonly print: (line: string) => void) {}

  private say(line: string) {
    if (this.printed.has(line)) return;
    this.printed.add(line);
    this.print(line);
  }

  /** Feeds one state of the App; returns whether the push is over, and how. */
  see(app: Obj): Verdict {
    const status: Obj = app.status ?? {};
    const refused = (status.conditions ?? []).find((c: Obj) => c?.type === 'Synced' && c.status === 'False' && this.current(c));
    if (refused) {
      const reason = `the platform refused App ${app.metadata?.name}: ${functionMessage(refused.message) || refused.reason}`;
      this.say(reason);
      return { done: true, ok: false, reason };
    }
    if (typeof status.observedGeneration !== 'number' || status.observedGeneration < this.generation) {
      this.say('waiting for the platform to pick up this version');
      return { done: false };
    }
    if (status.sourceDigest) this.say(`source ${short(status.sourceDigest)}`);
    const build: Obj | undefined = status.build;
    if (build && status.phase !== 'Ready') {
      const job = build.job ? ` (Job ${build.job})` : '';
      if (build.phase === 'Pending') this.say(`build queued${job}`);
      if (build.phase === 'Running') this.say(`building${job}`);
      if (build.phase === 'Succeeded') this.say(`build succeeded: ${short(build.digest)}`);
      if (build.phase === 'Failed') this.say(`build failed: ${build.message ?? 'see aerogrid logs --build'}`);
    }
    switch (status.phase) {
      case 'Pending':
        this.say(`pending: ${status.message ?? ''}`.trim());
        return { done: false };
      case 'Deploying':
        this.say(`deploying ${status.image ?? ''}`.trim());
        return { done: false };
      case 'Ready':
        this.say(`ready: ${status.url}`);
        return { done: true, ok: true, url: status.url };
      case 'Failed': {
        const reason = status.message ?? 'the App failed';
        this.say(`failed: ${reason}`);
        return { done: true, ok: false, reason };
      }
      default:
        return { done: false };
    }
  }

  /** A condition about this push: by generation when it says, else by time. */
  private current(c: Obj): boolean {
    if (typeof c.observedGeneration === 'number') return c.observedGeneration >= this.generation;
    const at = Date.parse(c.lastTransitionTime ?? '');
    // Condition times have whole seconds.
    return Number.isFinite(at) && at >= Math.floor(this.since.getTime() / 1000) * 1000;
  }
}

/**
 * The function's own words in a Synced=False message: Crossplane core wraps a FATAL result as
 * `cannot compose resources: pipeline step "render" returned a fatal result: <message>`.
 */
export function functionMessage(message: string | undefined): string {
  return (message ?? '').replace(/^cannot compose resources: pipeline step "[^"]*" returned a fatal result: /, '');
}
