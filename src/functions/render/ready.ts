// Readiness by kind: what "ready" means for each object aerogrid composes.
// Crossplane marks an XR Ready only when every composed resource is.
import { conditionOf, statusOf, type KubeObject } from './resources.js';

export function readiness(desired: KubeObject, observed: KubeObject | undefined): boolean {
  // A composed resource can be renamed (a build Job per digest): the observed one is the old object.
  if (!observed || observed.metadata?.name !== desired.metadata?.name) return false;
  const status = statusOf(observed);
  switch (desired.kind) {
    case 'Namespace':
      return status.phase === 'Active';
    case 'ResourceQuota':
      return typeof status.hard === 'object' && status.hard !== null;
    case 'Job':
      return conditionOf(observed, 'Complete')?.status === 'True';
    case 'Deployment':
      return deploymentAvailable(desired, observed);
    default:
      // Roles, bindings, policies, services, config maps and Istio objects have no
      // status to wait for: they take effect once they exist.
      return true;
  }
}

/**
 * Rolled out, as `kubectl rollout status` judges it: the controller saw the current template,
 * every replica runs it and is available, and no pod of an older template is left.
 */
export function deploymentAvailable(desired: KubeObject, observed: KubeObject): boolean {
  const status = statusOf(observed);
  const replicas = ((desired.spec as { replicas?: number } | undefined)?.replicas ?? 1);
  const generation = (observed.metadata as { generation?: number } | undefined)?.generation ?? 0;
  const observedGeneration = (status.observedGeneration as number | undefined) ?? 0;
  if (observedGeneration < generation) return false;
  if (replicas === 0) return true;
  const count = (field: string) => (status[field] as number | undefined) ?? 0;
  return (
    conditionOf(observed, 'Available')?.status === 'True' &&
    count('updatedReplicas') >= replicas &&
    count('replicas') <= count('updatedReplicas') &&
    count('availableReplicas') >= count('updatedReplicas')
  );
}
