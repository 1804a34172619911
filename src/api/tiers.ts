// Tier presets: what a Tenant gets per namespace unless it overrides a field.
import type { Limits, Quota, Tier } from './tenant.js';

export interface TierPreset {
  quota: Required<Quota>;
  limits: { defaultRequest: { cpu: string; memory: string }; default: { cpu: string; memory: string } };
}

export const TIER_PRESETS: Record<Tier, TierPreset> = {
  free: {
    quota: {
      // limits.cpu holds a build at two cores (build.cpu on a two-core node) beside the tenant's Apps.
      cpu: '500m', memory: '1Gi', limitsCpu: '3', limitsMemory: '4Gi', pods: '20', services: '10',
      configmaps: '20', secrets: '20', persistentvolumeclaims: '2', storage: '5Gi',
    },
    limits: { defaultRequest: { cpu: '50m', memory: '64Mi' }, default: { cpu: '250m', memory: '256Mi' } },
  },
  pro: {
    quota: {
      cpu: '4', memory: '8Gi', limitsCpu: '8', limitsMemory: '16Gi', pods: '100', services: '50',
      configmaps: '100', secrets: '100', persistentvolumeclaims: '10', storage: '100Gi',
    },
    limits: { defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '500m', memory: '512Mi' } },
  },
  enterprise: {
    quota: {
      cpu: '32', memory: '64Gi', limitsCpu: '64', limitsMemory: '128Gi', pods: '500', services: '200',
      configmaps: '500', secrets: '500', persistentvolumeclaims: '50', storage: '1Ti',
    },
    limits: { defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '1', memory: '1Gi' } },
  },
};

/** The ResourceQuota `hard` key each Quota field sets. */
export const QUOTA_KEYS: Record<keyof Quota, string> = {
  cpu: 'requests.cpu', memory: 'requests.memory', limitsCpu: 'limits.cpu', limitsMemory: 'limits.memory',
  pods: 'pods', services: 'services', configmaps: 'configmaps', secrets: 'secrets',
  persistentvolumeclaims: 'persistentvolumeclaims', storage: 'requests.storage',
};

export function effectiveLimits(preset: TierPreset, overrides: Limits | undefined): TierPreset['limits'] {
  return {
    defaultRequest: { ...preset.limits.defaultRequest, ...overrides?.defaultRequest },
    default: { ...preset.limits.default, ...overrides?.default },
  };
}
