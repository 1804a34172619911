// How an App is reached: its Service, the VirtualService on the shared gateway, and
// the Istio policies that let in only callers with a valid JWT from an allowed group.
import type { V1Service } from '@kubernetes/client-node';
import { VirtualService } from '../../../imports/networking.istio.io.js';
import { AuthorizationPolicy, AuthorizationPolicySpecAction, RequestAuthentication } from '../../../imports/security.istio.io.js';
import type { AppSpec } from '../../api/app.js';
import type { PlatformSettings } from '../../api/platform.js';
import type { TenantSpec } from '../../api/tenant.js';
import { kube, type KubeObject } from './resources.js';

export interface RouteContext {
  app: string;
  namespace: string;
  /** The path segment: the tenant's name, or the namespace when the tenant has several. */
  pathSegment: string;
  labels: Record<string, string>;
  /** The App's pods and its builds' alike (the Deployment's selector, and the Istio policies'). */
  selector: Record<string, string>;
  /** What the Service selects: the App's own pods only, never a build's (see app.ts). */
  serviceSelector: Record<string, string>;
}

export function appPath(ctx: Pick<RouteContext, 'pathSegment' | 'app'>): string {
  return `/apps/${ctx.pathSegment}/${ctx.app}/`;
}

export function appUrl(settings: PlatformSettings, ctx: Pick<RouteContext, 'pathSegment' | 'app'>): string {
  return `${settings.urlScheme}://${settings.appsDomain}${appPath(ctx)}`;
}

export function service(spec: AppSpec, ctx: RouteContext): KubeObject {
  return kube<V1Service>('v1', 'Service', {
    metadata: { name: ctx.app, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      type: 'ClusterIP',
      selector: ctx.serviceSelector,
      ports: [{ name: 'http', port: 80, targetPort: spec.port, protocol: 'TCP', appProtocol: 'http' }],
    },
  });
}

export function virtualService(settings: PlatformSettings, ctx: RouteContext): KubeObject {
  const path = appPath(ctx);
  return VirtualService.manifest({
    metadata: { name: ctx.app, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      hosts: [settings.appsDomain],
      gateways: [settings.gateway],
      http: [
        { name: 'slash', match: [{ uri: { exact: path.slice(0, -1) } }], redirect: { uri: path } },
        {
          name: 'app',
          match: [{ uri: { prefix: path } }],
          rewrite: { uri: '/' },
          route: [{ destination: { host: `${ctx.app}.${ctx.namespace}.svc.cluster.local`, port: { number: 80 } } }],
        },
      ],
    },
  });
}

export function requestAuthentication(tenant: TenantSpec, ctx: RouteContext): KubeObject {
  return RequestAuthentication.manifest({
    metadata: { name: ctx.app, namespace: ctx.namespace, labels: ctx.labels },
    spec: {
      selector: { matchLabels: ctx.selector },
      jwtRules: [{
        issuer: tenant.auth.issuer,
        jwksUri: tenant.auth.jwksUri ?? `${tenant.auth.issuer}.well-known/jwks.json`,
        audiences: tenant.auth.audiences,
        forwardOriginalToken: true,
      }],
    },
  });
}

/**
 * The request principals of a tenant's tokens. A request principal is `<iss>/<sub>`, and
 * Istio splits a pattern at its last `/` into the issuer and the subject, each matched against
 * the token's claims. Auth0's issuers end in `/` (the schema requires it), so the pattern is
 * the issuer, a `/`, then `*`. `${issuer}*` would ask for an issuer without its final slash,
 * and Envoy would refuse every valid token: Istio's config generator showed it
 * (test/istio.test.ts).
 */
export function requestPrincipals(tenant: TenantSpec): string[] {
  return [`${tenant.auth.issuer}/*`];
}

/**
 * A RequestAuthentication alone rejects bad tokens but lets token-less requests through.
 * This ALLOW policy requires a request principal from the tenant's issuer and one of the
 * allowed groups; a public App gets an ALLOW-all instead, which is the only way to open it.
 */
export function authorizationPolicy(spec: AppSpec, tenant: TenantSpec, groups: string[], ctx: RouteContext): KubeObject {
  const rules = spec.access.public
    ? [{}]
    : [{
        from: [{ source: { requestPrincipals: requestPrincipals(tenant) } }],
        when: [{ key: `request.auth.claims[${tenant.auth.groupsClaim}]`, values: groups }],
      }];
  return AuthorizationPolicy.manifest({
    metadata: { name: ctx.app, namespace: ctx.namespace, labels: ctx.labels },
    spec: { selector: { matchLabels: ctx.selector }, action: AuthorizationPolicySpecAction.ALLOW, rules },
  });
}
