// SIMULATED: what a kubelet and the Job and Deployment controllers would report, played by hand,
// for make scale (bench/scale.ts) only: 1,000 real builds (about 20 s and 800 MiB each) and 2,000
// pods cannot run on this machine's one real node. Everywhere else (make demo, make test, the other
// benchmarks) a real node runs (scripts/lib/node.ts). Each line it prints says SIMULATED.
//
// It polls the Jobs and Deployments aerogrid composes, in every namespace, with kubectl, and moves
// each one step per pass: a new build Job starts running, a running one succeeds (or fails,
// when `fail` says so), and a Deployment whose spec changed becomes available with its replicas.
// With `watch`, it follows them through informers of @kubernetes/client-node instead and writes
// status in process, as the scale run needs for a thousand Apps (a kubectl process per status
// write costs more CPU than the whole platform's work).
import {
  AppsV1Api, BatchV1Api, KubeConfig, PatchStrategy, makeInformer, setHeaderOptions,
  type Informer, type KubernetesObject, type ObjectCache,
} from '@kubernetes/client-node';
import type { ControlPlane } from '../scripts/lib/controlplane.js';

type Obj = Record<string, any>;
const SELECTOR = 'app.kubernetes.io/managed-by=aerogrid';
const T0 = '2026-01-01T00:00:00Z';

export interface KubeletOptions {
  say?: (msg: string) => void;
  /** Builds for which this returns true fail instead of succeeding. */
  fail?: (job: Obj) => boolean;
  /** Milliseconds a build stays running. */
  buildMs?: number;
  /** Follow Jobs and Deployments with watches and write status in process (the scale run). */
  watch?: boolean;
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
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly later = new Map<string, NodeJS.Timeout>();
  private readonly busy = new Set<string>();
  private readonly dirty = new Set<string>();
  private writeStatus: (kind: 'job' | 'deployment', o: Obj, status: Obj) => Promise<void> = (kind, o, status) => this.patchStatus(kind, o, status);

  constructor(private readonly cp: ControlPlane, private readonly opts: KubeletOptions = {}) {}

  start(): this {
    if (this.opts.watch) {
      void this.watch().catch((err) => this.say(`kubelet: ${(err as Error).message}`));
      return this;
    }
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
    for (const t of this.later.values()) clearTimeout(t);
    await Promise.all(this.informers.map((i) => i.stop()));
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
    for (const job of this.hold ? [] : await this.list('jobs')) await this.job(job);
    for (const d of await this.list('deployments')) await this.deployment(d);
  }

  /** The watch mode: an informer per kind, each change handled once at a time per object. */
  private async watch(): Promise<void> {
    const kc = new KubeConfig();
    kc.loadFromFile(this.cp.kubeconfig);
    const batch = kc.makeApiClient(BatchV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    this.writeStatus = async (kind, o, status) => {
      const req = { name: o.metadata.name, namespace: o.metadata.namespace, body: { status } };
      await (kind === 'job' ? batch.patchNamespacedJobStatus(req, merge) : apps.patchNamespacedDeploymentStatus(req, merge)).catch(() => undefined);
    };
    const follow = <T extends KubernetesObject>(kind: string, path: string, list: () => Promise<{ items: T[] }>, handle: (o: Obj) => Promise<void>) => {
      const informer = makeInformer(kc, path, list as never, SELECTOR) as Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
      const run = (o: KubernetesObject) => void this.once(kind, o as Obj, handle, informer);
      informer.on('add', run);
      informer.on('update', run);
      // An informer stops on an error (a watch the server ended badly): start it again.
      informer.on('error', () => { if (!this.stopped) setTimeout(() => void informer.start(), 1000); });
      this.informers.push(informer);
      return informer.start();
    };
    await Promise.all([
      follow('job', '/apis/batch/v1/jobs', () => batch.listJobForAllNamespaces({ labelSelector: SELECTOR }), (o) => this.job(o)),
      follow('deployment', '/apis/apps/v1/deployments', () => apps.listDeploymentForAllNamespaces({ labelSelector: SELECTOR }), (o) => this.deployment(o)),
    ]);
  }

  /**
   * Handles an object's latest version, one at a time per object: a change that arrives while
   * the last one is handled is handled after it, from the informer's cache; a running build is
   * looked at again when it is due.
   */
  private async once(kind: string, o: Obj, handle: (o: Obj) => Promise<void>, cache: ObjectCache<KubernetesObject>): Promise<void> {
    const id = `${kind}/${o.metadata.namespace}/${o.metadata.name}`;
    if (this.stopped) return;
    if (this.busy.has(id)) {
      this.dirty.add(id);
      return;
    }
    this.busy.add(id);
    try {
      await handle(o);
    } finally {
      this.busy.delete(id);
    }
    const latest = () => cache.get(o.metadata.name, o.metadata.namespace) as Obj | undefined;
    if (this.dirty.delete(id)) {
      const now = latest();
      if (now) return this.once(kind, now, handle, cache);
    }
    if (kind === 'job' && latest()?.status?.active && !this.later.has(id)) {
      this.later.set(id, setTimeout(() => {
        this.later.delete(id);
        const now = latest();
        if (now) void this.once(kind, now, handle, cache);
      }, this.opts.buildMs ?? 300));
    }
  }

  private async job(job: Obj): Promise<void> {
    if (this.hold) return;
    const id = `${job.metadata.namespace}/${job.metadata.name}`;
    const done = (job.status?.conditions ?? []).some((c: Obj) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    if (done || job.metadata.deletionTimestamp) return;
    if (!job.status?.active) {
      if (!this.builds.includes(id)) this.builds.push(id);
      this.runningSince.set(id, Date.now());
      this.say(`no container runtime here: marking build Job ${job.metadata.name} running, as the Job controller would once its Pod started`);
      await this.writeStatus('job', job, { startTime: T0, active: 1 });
    } else if (Date.now() - (this.runningSince.get(id) ?? 0) >= (this.opts.buildMs ?? 300)) {
      if (this.opts.fail?.(job)) {
        this.say(`marking build Job ${job.metadata.name} failed, as the Job controller would after Kaniko exited non-zero`);
        await this.writeStatus('job', job, {
          active: 0, failed: 1,
          conditions: [
            { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: T0 },
            { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: T0 },
          ],
        });
      } else {
        this.say(`no container runtime here: marking build Job ${job.metadata.name} succeeded, as the Job controller would once Kaniko pushed the image`);
        await this.writeStatus('job', job, {
          active: 0, succeeded: 1, completionTime: T0,
          conditions: [{ type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: T0 }, { type: 'Complete', status: 'True', lastTransitionTime: T0 }],
        });
      }
    }
  }

  private async deployment(d: Obj): Promise<void> {
    const replicas = d.spec.replicas ?? 1;
    const s = d.status ?? {};
    if (s.observedGeneration === d.metadata.generation && s.availableReplicas === replicas && s.updatedReplicas === replicas) return;
    this.say(`no kubelet here: reporting Deployment ${d.metadata.name} available with ${replicas} ready replica(s) of ${d.spec.template.spec.containers[0].image.split('/').pop()}`);
    await this.writeStatus('deployment', d, {
      observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastUpdateTime: T0, lastTransitionTime: T0 },
        // As the Deployment controller records a finished rollout: the App's release history reads its time.
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: T0 },
      ],
    });
  }
}
