// dist/argocd/: what makes aerogrid work under Argo CD the first time.
//
// - Two AppProjects: the platform's (packages, RBAC, policies) and the tenants' (only Tenant and App).
// - root.yaml, the one file applied by hand: those projects and an app-of-apps, `aerogrid`, whose
//   children are ordered by sync wave: the platform Application first; the tenants ApplicationSet
//   only once the platform is Healthy, so that no tenant syncs while the packages install. The
//   platform installs the Function before the Configuration.
// - argocd-cm entries: annotation tracking (no tracking label copied onto XRs and their composed
//   resources) and Lua health checks that tell the truth about Tenants, Apps and packages.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Configuration as ConfigurationPackage, Function as FunctionPackage } from '../../imports/pkg.crossplane.io.js';
import type { PlatformFile } from '../api/platform.js';
import { GROUP } from '../functions/render/resources.js';
import { clusterRole, tenantDeletionPolicy } from './packages.js';

const HEALTH_DIR = join(import.meta.dirname, '..', 'gitops', 'health');
const health = (name: string) => readFileSync(join(HEALTH_DIR, `${name}.lua`), 'utf8');
const wave = (n: number) => ({ 'argocd.argoproj.io/sync-wave': String(n) });
/** Crossplane's package CRDs may not exist yet when Argo CD first dry-runs the platform. */
const packageSync = { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' };

const PLATFORM_PROJECT = 'aerogrid-platform';
const TENANTS_PROJECT = 'aerogrid-tenants';
const IN_CLUSTER = 'https://kubernetes.default.svc';

export function argocdFiles(file: PlatformFile): Map<string, unknown[]> {
  const { gitops, packages } = file;
  const ns = gitops.argocdNamespace;
  const source = (path: string) => ({ repoURL: gitops.repoURL, targetRevision: gitops.targetRevision, path });
  const out = new Map<string, unknown[]>();

  const projects = [
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: PLATFORM_PROJECT, namespace: ns, annotations: wave(-1) },
      spec: {
        description: 'The aerogrid platform: Crossplane packages, the aggregated ClusterRole, admission policies.',
        sourceRepos: [gitops.repoURL],
        destinations: [{ server: IN_CLUSTER, namespace: '*' }],
        clusterResourceWhitelist: [
          { group: 'pkg.crossplane.io', kind: 'Function' }, { group: 'pkg.crossplane.io', kind: 'Configuration' },
          { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
          { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy' },
          { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicyBinding' },
        ],
        namespaceResourceWhitelist: [
          { group: 'argoproj.io', kind: 'Application' }, { group: 'argoproj.io', kind: 'ApplicationSet' }, { group: 'argoproj.io', kind: 'AppProject' },
        ],
      },
    },
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: TENANTS_PROJECT, namespace: ns, annotations: wave(-1) },
      spec: {
        description: 'Tenants and their Apps: nothing else can be synced from a tenant directory.',
        sourceRepos: [gitops.repoURL],
        destinations: [{ server: IN_CLUSTER, namespace: '*' }],
        clusterResourceWhitelist: [{ group: GROUP, kind: 'Tenant' }],
        namespaceResourceWhitelist: [{ group: GROUP, kind: 'App' }],
      },
    },
  ];
  // The projects live in Git (apps/projects.yaml, synced by the root Application before its
  // children). root.yaml carries them too, because the root Application needs its project before
  // its first sync: applying root.yaml once is the only step taken by hand.
  out.set('argocd/apps/projects.yaml', projects);

  const syncPolicy = (extra: string[]) => ({
    automated: { prune: true, selfHeal: true },
    syncOptions: ['ServerSideApply=true', ...extra],
    // refresh: a retry takes the newest commit (Argo CD 3.1+). Without it, a commit that fixes a
    // failed sync waited until the retries of the broken commit ran out.
    // 5 s: the usual failure of a first sync is a CRD the API server starts serving a second later.
    retry: { limit: 10, refresh: true, backoff: { duration: '5s', factor: 2, maxDuration: '5m' } },
  });

  out.set('argocd/root.yaml', [...projects, {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'aerogrid', namespace: ns },
    spec: {
      project: PLATFORM_PROJECT,
      source: source('dist/argocd/apps'),
      destination: { server: IN_CLUSTER, namespace: ns },
      syncPolicy: syncPolicy([]),
    },
  }]);

  out.set('argocd/apps/platform.yaml', [{
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'aerogrid-platform', namespace: ns, annotations: wave(0) },
    spec: {
      project: PLATFORM_PROJECT,
      source: source('dist/argocd/platform'),
      destination: { server: IN_CLUSTER, namespace: 'crossplane-system' },
      syncPolicy: syncPolicy([]),
    },
  }]);

  out.set('argocd/apps/tenants.yaml', [{
    apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', metadata: { name: 'aerogrid-tenants', namespace: ns, annotations: wave(1) },
    spec: {
      goTemplate: true,
      goTemplateOptions: ['missingkey=error'],
      generators: [{ git: { repoURL: gitops.repoURL, revision: gitops.targetRevision, directories: [{ path: `${gitops.tenantsPath}/*` }] } }],
      template: {
        metadata: { name: 'tenant-{{.path.basename}}', labels: { 'platform.aerogrid.io/tenant': '{{.path.basename}}' } },
        spec: {
          project: TENANTS_PROJECT,
          source: { repoURL: gitops.repoURL, targetRevision: gitops.targetRevision, path: '{{.path.path}}', directory: { recurse: true } },
          destination: { server: IN_CLUSTER },
          // Apps carry their source files: client-side apply's last-applied annotation would
          // overflow the 256 KiB annotation limit, so everything is applied server-side.
          // Pruning a Tenant deletes its namespaces: prune last, after its Apps, so that the
          // deletion policy sees them gone (it refuses a Tenant that still counts Apps).
          syncPolicy: syncPolicy(['CreateNamespace=false', 'PruneLast=true']),
        },
      },
    },
  }]);

  out.set('argocd/platform/function.yaml', [FunctionPackage.manifest({
    metadata: { name: 'aerogrid-function-aerogrid', annotations: { ...wave(0), ...packageSync } },
    spec: { package: `${packages.function}:${packages.version}` },
  })]);
  out.set('argocd/platform/configuration.yaml', [ConfigurationPackage.manifest({
    metadata: { name: 'aerogrid', annotations: { ...wave(1), ...packageSync } },
    spec: { package: `${packages.configuration}:${packages.version}` },
  })]);
  out.set('argocd/platform/rbac.yaml', [clusterRole()]);
  out.set('argocd/platform/protection.yaml', tenantDeletionPolicy());

  const appHealth = health('composite-prelude') + health('app');
  const tenantHealth = health('composite-prelude') + health('tenant');
  const packageHealth = health('package');
  out.set('argocd/argocd-cm.yaml', [{
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'argocd-cm', namespace: ns, labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' } },
    data: {
      'application.resourceTrackingMethod': 'annotation',
      [`resource.customizations.health.${GROUP}_App`]: appHealth,
      [`resource.customizations.health.${GROUP}_XApp`]: appHealth,
      [`resource.customizations.health.${GROUP}_Tenant`]: tenantHealth,
      [`resource.customizations.health.${GROUP}_XTenant`]: tenantHealth,
      'resource.customizations.health.pkg.crossplane.io_Function': packageHealth,
      'resource.customizations.health.pkg.crossplane.io_Configuration': packageHealth,
      'resource.customizations.health.argoproj.io_Application': health('application'),
    },
  }]);
  return out;
}
