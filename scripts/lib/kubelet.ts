// What a kubelet and the Job and Deployment controllers would report, played by hand: this
// machine has no container runtime, so the build Job never runs and no Pod ever starts.
// Used by `make demo` and the end-to-end tests; each line it prints says SIMULATED.
//
// It watches (polls) the Jobs and Deployments aerogrid composes, in every namespace, and moves
// each one step per pass: a new build Job starts running, a running one succeeds (or fails,
// when `fail` says so), and a Deployment whose spec changed becomes available with its replicas.
import type { ControlPlane } from './controlplane.js';

type Obj = Record<string, any>;
const SELECTOR = 'app.kubernetes.io/managed-by=aerogrid';
const T0 = '2026-01-01T00:00:00Z';

export interface KubeletOptions {
  say?: (msg: string) => void;
  /** Builds for which this returns true fail instead of succeeding. */
  fail?: (job: Obj) => boolean;
  /** Milliseconds a build stays running. */
  buildMs?: number;
}

export class SimulatedKubelet {
  /** Every build Job this kubelet saw start, namespace/name, in order. */
  readonly builds: string[] = [];
  /** While true, build Jobs are left as they are (a test may look at one before it runs). */
  hold = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private pass?: Promise<void>;
  private readonly runningSince = new Map<string, number>();

  constructor(private readonly cp: ControlPlane, private readonly opts: KubeletOptions = {}) {}

  start(): this {
    const tick = async () => {
      if (this.stopped) return;
      this.pass = this.step().catch((err) => this.say(`kubelet: ${(err as Error).message}`));
      await this.pass;
      if (!this.stopped) this.timer = setTimeout(tick, 200);
    };
    void tick();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  /** Builds started for one App (its Jobs are named <app>-build-<digest>). */
  buildsOf(namespace: string, app: string): string[] {
    return this.builds.filter((b) => b.startsWith(`${namespace}/${app}-build-`));
  }

  private say(msg: string): void {
    this.opts.say?.(`SIMULATED: ${msg}`);
  }

  private async list(kind: string): Promise<Obj[]> {
    const r = await this.cp.kubectlAsync('get', kind, '-A', '-l', SELECTOR, '-o', 'json');
    return r.status === 0 ? JSON.parse(r.stdout).items : [];
  }

  private async patchStatus(kind: string, o: Obj, status: Obj): Promise<void> {
    await this.cp.kubectlAsync('patch', kind, o.metadata.name, '-n', o.metadata.namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
  }

  private async step(): Promise<void> {
    for (const job of this.hold ? [] : await this.list('jobs')) {
      const id = `${job.metadata.namespace}/${job.metadata.name}`;
      const done = (job.status?.conditions ?? []).some((c: Obj) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      if (done || job.metadata.deletionTimestamp) continue;
      if (!job.status?.active) {
        if (!this.builds.includes(id)) this.builds.push(id);
        this.runningSince.set(id, Date.now());
        this.say(`no container runtime here: marking build Job ${job.metadata.name} running, as the Job controller would once its Pod started`);
        await this.patchStatus('job', job, { startTime: T0, active: 1 });
      } else if (Date.now() - (this.runningSince.get(id) ?? 0) >= (this.opts.buildMs ?? 300)) {
        if (this.opts.fail?.(job)) {
          this.say(`marking build Job ${job.metadata.name} failed, as the Job controller would after Kaniko exited non-zero`);
          await this.patchStatus('job', job, {
            active: 0, failed: 1,
            conditions: [
              { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: T0 },
              { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: T0 },
            ],
          });
        } else {
          this.say(`no container runtime here: marking build Job ${job.metadata.name} succeeded, as the Job controller would once Kaniko pushed the image`);
          await this.patchStatus('job', job, {
            active: 0, succeeded: 1, completionTime: T0,
            conditions: [{ type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: T0 }, { type: 'Complete', status: 'True', lastTransitionTime: T0 }],
          });
        }
      }
    }
    for (const d of await this.list('deployments')) {
      const replicas = d.spec.replicas ?? 1;
      const s = d.status ?? {};
      if (s.observedGeneration === d.metadata.generation && s.availableReplicas === replicas && s.updatedReplicas === replicas) continue;
      this.say(`no kubelet here: reporting Deployment ${d.metadata.name} available with ${replicas} ready replica(s) of ${d.spec.template.spec.containers[0].image.split('/').pop()}`);
      await this.patchStatus('deployment', d, {
        observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastUpdateTime: T0, lastTransitionTime: T0 },
          // As the Deployment controller records a finished rollout: the App's release history reads its time.
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: T0 },
        ],
      });
    }
  }
}
