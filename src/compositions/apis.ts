// The Tenant and App constructs: each API's props are its zod schemas.
import type { Construct } from 'constructs';
import { AppSpec, AppStatus } from '../api/app.js';
import type { JSONSchemaProps } from '../api/openapi.js';
import type { PlatformSettings } from '../api/platform.js';
import { TenantSpec, TenantStatus } from '../api/tenant.js';
import { CompositeApi, type Flavour } from './composite.js';

export interface ApiProps {
  flavour: Flavour;
  settings: PlatformSettings;
  functionName: string;
}

export class Tenant extends CompositeApi {
  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id, {
      ...props,
      kind: 'Tenant',
      plural: 'tenants',
      scope: 'Cluster',
      description: 'A team on the shared cluster: namespaces, quota, least-privilege roles, network isolation and Istio mTLS.',
      spec: TenantSpec,
      status: TenantStatus,
      // Crossplane appends SYNCED, READY, COMPOSITION and AGE to every XR's columns.
      printerColumns: [
        { name: 'PHASE', type: 'string', jsonPath: '.status.phase' },
        { name: 'NAMESPACES', type: 'string', jsonPath: '.status.namespaces' },
        { name: 'TIER', type: 'string', jsonPath: '.spec.tier', priority: 1 },
      ],
    });
  }
}

export class App extends CompositeApi {
  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id, {
      ...props,
      kind: 'App',
      plural: 'apps',
      scope: 'Namespaced',
      description: 'A developer application: a few source files become a built image, a running Deployment and a JWT-protected URL.',
      spec: AppSpec,
      // The runtimes are the platform's: an enum of exactly those platform.yaml offers, and its default.
      offer: (spec) => {
        const properties = spec.properties as Record<string, JSONSchemaProps>;
        return { ...spec, properties: { ...properties, runtime: { ...properties.runtime, enum: Object.keys(props.settings.runtimes), default: props.settings.defaultRuntime } } };
      },
      status: AppStatus,
      printerColumns: [
        { name: 'PHASE', type: 'string', jsonPath: '.status.phase' },
        { name: 'URL', type: 'string', jsonPath: '.status.url' },
        { name: 'REVISION', type: 'integer', jsonPath: '.status.revision' },
        { name: 'IMAGE', type: 'string', jsonPath: '.status.image' },
        { name: 'MESSAGE', type: 'string', jsonPath: '.status.message', priority: 1 },
      ],
    });
  }
}
