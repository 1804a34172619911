// The tenant roles, as data. The Tenant renderer writes them into every tenant
// namespace, the least-privilege test walks them, and `make build` derives from
// them the rights Crossplane itself needs to grant them (RBAC forbids granting
// what the granter lacks), so the three can never disagree.
/** The name of a tenant Role in each of its namespaces. */
export const tenantRoleName = (role: string) => `aerogrid-${role}`;

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** Everyday namespaced kinds a tenant can see. Secrets are deliberately not here. */
const VISIBLE: PolicyRule[] = [
  { apiGroups: ['platform.aerogrid.io'], resources: ['apps'], verbs: READ },
  { apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'endpoints', 'configmaps', 'events', 'persistentvolumeclaims', 'resourcequotas', 'limitranges', 'serviceaccounts'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: READ },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: READ },
  { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: READ },
  { apiGroups: ['security.istio.io'], resources: ['authorizationpolicies', 'requestauthentications', 'peerauthentications'], verbs: READ },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: READ },
];

export const TENANT_ROLES: Record<'admin' | 'operator' | 'viewer', PolicyRule[]> = {
  viewer: VISIBLE,
  // The tenant's developers: they push, change and delete Apps (aerogrid push), and work
  // with what runs, but cannot read Secrets or write anything that sets access.
  operator: [
    ...VISIBLE,
    { apiGroups: ['platform.aerogrid.io'], resources: ['apps'], verbs: ['create', 'update', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
    { apiGroups: [''], resources: ['pods/exec', 'pods/portforward'], verbs: ['create'] },
    { apiGroups: [''], resources: ['services', 'configmaps'], verbs: ['create', 'update', 'patch', 'delete'] },
  ],
  admin: [
    ...VISIBLE,
    { apiGroups: ['platform.aerogrid.io'], resources: ['apps'], verbs: ['create', 'update', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['delete'] },
    { apiGroups: [''], resources: ['pods/exec', 'pods/portforward'], verbs: ['create'] },
    { apiGroups: [''], resources: ['services', 'configmaps', 'secrets', 'persistentvolumeclaims'], verbs: WRITE },
    { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: WRITE },
  ],
};
