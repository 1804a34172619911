// Every kind the renderers compose, with its API group and resource name. The
// aggregated ClusterRole is generated from this list, and a test proves that the
// renderers compose nothing outside it.
export const COMPOSED: { apiVersion: string; kind: string; resource: string }[] = [
  { apiVersion: 'v1', kind: 'Namespace', resource: 'namespaces' },
  { apiVersion: 'v1', kind: 'ResourceQuota', resource: 'resourcequotas' },
  { apiVersion: 'v1', kind: 'LimitRange', resource: 'limitranges' },
  { apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps' },
  { apiVersion: 'v1', kind: 'Service', resource: 'services' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', resource: 'roles' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', resource: 'rolebindings' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', resource: 'networkpolicies' },
  { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments' },
  { apiVersion: 'batch/v1', kind: 'Job', resource: 'jobs' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', resource: 'horizontalpodautoscalers' },
  { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', resource: 'virtualservices' },
  { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', resource: 'peerauthentications' },
  { apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', resource: 'requestauthentications' },
  { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', resource: 'authorizationpolicies' },
];

/**
 * Kinds the renderers only read, as Crossplane's required resources: an App's pods (what a failed
 * build or a rollout says) and, while a rollout's pods are not ready, its namespace's events (a
 * failing probe's message). Crossplane fetches them with its own rights: the ClusterRole grants it
 * reading them, named here rather than left to what the tenant roles happen to hand out.
 */
export const READ: { apiVersion: string; kind: string; resource: string }[] = [
  { apiVersion: 'v1', kind: 'Pod', resource: 'pods' },
  { apiVersion: 'v1', kind: 'Event', resource: 'events' },
];

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}
