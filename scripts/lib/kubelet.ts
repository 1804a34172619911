// What a kubelet and the Job and Deployment controllers would report, played by hand: this
// machine has no container runtime, so the build Job never runs and no Pod ever starts.
// Used by `make demo` and the CLI's end-to-end tests; each says SIMULATED when it does this.
import type { ControlPlane } from './controlplane.js';
import type { Outcome } from './composer.js';
import { must } from './install.js';

const T0 = '2026-01-01T00:00:00Z';

/** One step per call: a new build Job starts running, a running one succeeds, an unready Deployment becomes available. */
export function playKubelet(cp: ControlPlane, o: Outcome, say: (msg: string) => void = () => {}): void {
  const job = o.composed.job;
  if (job && !job.ready) {
    const observed = JSON.parse(must(cp.kubectl('get', 'job', job.name, '-n', job.namespace!, '-o', 'json')).stdout);
    const status = observed.status?.active
      ? { active: 0, succeeded: 1, completionTime: T0, conditions: [{ type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: T0 }, { type: 'Complete', status: 'True', lastTransitionTime: T0 }] }
      : { startTime: T0, active: 1 };
    say(observed.status?.active
      ? `no container runtime here: marking build Job ${job.name} succeeded, as the Job controller would once Kaniko pushed the image`
      : `no container runtime here: marking build Job ${job.name} running, as the Job controller would once its Pod started`);
    must(cp.kubectl('patch', 'job', job.name, '-n', job.namespace!, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })));
  }
  const deployment = o.composed.deployment;
  if (deployment && !deployment.ready) {
    const d = JSON.parse(must(cp.kubectl('get', 'deployment', deployment.name, '-n', deployment.namespace!, '-o', 'json')).stdout);
    const replicas = d.spec.replicas ?? 1;
    say(`no kubelet here: reporting Deployment ${deployment.name} available with ${replicas} ready replica(s) of ${d.spec.template.spec.containers[0].image.split('/').pop()}`);
    must(cp.kubectl('patch', 'deployment', deployment.name, '-n', deployment.namespace!, '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: {
        observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas,
        conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastUpdateTime: T0, lastTransitionTime: T0 }],
      },
    })));
  }
}
