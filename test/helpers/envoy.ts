// What a sidecar's inbound HTTP filters decide for one request, read from the listener that
// Istio's config generator computed (test/istio/, as protojson). No Envoy runs here, so this
// follows Envoy's documented semantics for the filters and matchers Istio writes for aerogrid's
// policies (jwt_authn, then each RBAC filter in order). Anything else it meets, a filter that could
// refuse a request or a matcher it does not know, makes it throw: a shape it does not understand
// fails the test instead of passing it.
type Obj = Record<string, any>;

export interface Request {
  /** The peer's mTLS identity (spiffe://cluster.local/ns/NS/sa/SA); none for a plaintext peer. */
  source?: string;
  /** The JWT's payload; its signature is taken to be good for the issuer it names. None: no token. */
  token?: Record<string, unknown>;
  path?: string;
}

export type Decision = { allowed: true } | { allowed: false; status: 401 | 403; by: string };

const JWT_AUTHN = 'envoy.filters.http.jwt_authn';
const RBAC = 'envoy.filters.http.rbac';
/** Filters Istio adds that never refuse a request. */
const PASSIVE = new Set(['istio.metadata_exchange', 'envoy.filters.http.grpc_stats', 'envoy.filters.http.fault', 'envoy.filters.http.cors',
  'istio.alpn', 'istio.stats', 'envoy.filters.http.router']);

/** The HTTP filters of a filter chain of the inbound listener, by the chain's name. */
export function httpFilters(inbound: Obj, chain: string): Obj[] {
  const fc = (inbound.filterChains as Obj[]).find((c) => c.name === chain);
  if (!fc) throw new Error(`no filter chain ${chain} in the inbound listener`);
  const hcm = (fc.filters as Obj[]).find((f) => f.name === 'envoy.filters.network.http_connection_manager');
  if (!hcm) throw new Error(`filter chain ${chain} has no HTTP connection manager`);
  return hcm.typedConfig.httpFilters as Obj[];
}

export function decide(filters: Obj[], req: Request): Decision {
  const metadata: Record<string, Obj> = {};
  for (const f of filters) {
    if (f.disabled) continue;
    if (f.name === JWT_AUTHN) {
      const failure = jwtAuthn(f.typedConfig, req, metadata);
      if (failure) return { allowed: false, status: 401, by: `jwt_authn: ${failure}` };
    } else if (f.name === RBAC) {
      const verdict = rbac(f.typedConfig, req, metadata);
      if (verdict) return { allowed: false, status: 403, by: verdict };
    } else if (!PASSIVE.has(f.name)) {
      throw new Error(`unknown HTTP filter ${f.name}: cannot tell whether it refuses requests`);
    }
  }
  return { allowed: true };
}

/** jwt_authn: returns why the request is refused, or undefined; a verified payload goes into the metadata. */
function jwtAuthn(cfg: Obj, req: Request, metadata: Record<string, Obj>): string | undefined {
  const providers = cfg.providers as Record<string, Obj>;
  const verifies = (name: string): 'ok' | 'missing' | 'invalid' => {
    const p = providers[name];
    if (!p) throw new Error(`jwt_authn names an unknown provider ${name}`);
    if (p.fromHeaders || p.fromParams || p.fromCookies) throw new Error(`provider ${name} reads its token from somewhere else than Authorization`);
    if (!req.token) return 'missing';
    if (p.issuer && req.token.iss !== p.issuer) return 'invalid';
    const aud = ([] as unknown[]).concat(req.token.aud ?? []);
    if (p.audiences?.length && !aud.some((a) => p.audiences.includes(a))) return 'invalid';
    if (p.payloadInMetadata) metadata[JWT_AUTHN] = { ...metadata[JWT_AUTHN], [p.payloadInMetadata]: req.token };
    return 'ok';
  };
  const satisfied = (r: Obj): 'ok' | 'missing' | 'invalid' => {
    if (r.providerName) return verifies(r.providerName);
    if (r.allowMissing) return req.token ? (Object.keys(providers).some((n) => verifies(n) === 'ok') ? 'ok' : 'invalid') : 'ok';
    if (r.requiresAny) {
      const all = (r.requiresAny.requirements as Obj[]).map(satisfied);
      return all.includes('ok') ? 'ok' : all.includes('invalid') ? 'invalid' : 'missing';
    }
    if (r.requiresAll) {
      const all = (r.requiresAll.requirements as Obj[]).map(satisfied);
      return all.every((x) => x === 'ok') ? 'ok' : all.includes('invalid') ? 'invalid' : 'missing';
    }
    throw new Error(`unknown jwt_authn requirement ${JSON.stringify(r)}`);
  };
  const path = req.path ?? '/';
  for (const rule of (cfg.rules ?? []) as Obj[]) {
    const m = rule.match ?? {};
    if (Object.keys(m).some((k) => k !== 'prefix' && k !== 'path')) throw new Error(`unknown jwt_authn route match ${JSON.stringify(m)}`);
    if (m.prefix !== undefined ? !path.startsWith(m.prefix) : m.path !== undefined && m.path !== path) continue;
    if (!rule.requires) return undefined;
    const got = satisfied(rule.requires);
    return got === 'ok' ? undefined : got === 'missing' ? 'Jwt is missing' : 'Jwt verification fails';
  }
  return undefined;
}

/** An RBAC filter: returns the policy that refuses the request, or undefined. */
function rbac(cfg: Obj, req: Request, metadata: Record<string, Obj>): string | undefined {
  if (!cfg.rules) return undefined; // shadow rules only: they log, never refuse
  const action = cfg.rules.action ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') throw new Error(`RBAC action ${action}`);
  const matched = Object.entries<Obj>(cfg.rules.policies ?? {}).filter(([, p]) =>
    (p.permissions as Obj[]).some((x) => permission(x, req)) && (p.principals as Obj[]).some((x) => principal(x, req, metadata)));
  if (action === 'DENY') return matched.length ? `RBAC DENY policy ${matched[0][0]}` : undefined;
  return matched.length ? undefined : `RBAC ALLOW: no policy matches (${Object.keys(cfg.rules.policies ?? {}).join(', ') || 'none'})`;
}

function permission(p: Obj, req: Request): boolean {
  if (p.any) return true;
  if (p.andRules) return (p.andRules.rules as Obj[]).every((x) => permission(x, req));
  if (p.orRules) return (p.orRules.rules as Obj[]).some((x) => permission(x, req));
  if (p.notRule) return !permission(p.notRule, req);
  throw new Error(`unknown RBAC permission ${JSON.stringify(p)}`);
}

function principal(p: Obj, req: Request, metadata: Record<string, Obj>): boolean {
  if (p.any) return true;
  if (p.andIds) return (p.andIds.ids as Obj[]).every((x) => principal(x, req, metadata));
  if (p.orIds) return (p.orIds.ids as Obj[]).some((x) => principal(x, req, metadata));
  if (p.notId) return !principal(p.notId, req, metadata);
  if (p.authenticated) {
    if (req.source === undefined) return false;
    return p.authenticated.principalName ? string(p.authenticated.principalName, req.source) : true;
  }
  if (p.metadata) {
    let v: unknown = metadata[p.metadata.filter];
    for (const { key } of p.metadata.path as { key: string }[]) v = v && typeof v === 'object' ? (v as Obj)[key] : undefined;
    const m = value(p.metadata.value, v);
    return p.metadata.invert ? !m : m;
  }
  throw new Error(`unknown RBAC principal ${JSON.stringify(p)}`);
}

function value(m: Obj, v: unknown): boolean {
  if (m.stringMatch) return typeof v === 'string' && string(m.stringMatch, v);
  if (m.listMatch) return Array.isArray(v) && v.some((x) => value(m.listMatch.oneOf, x));
  if (m.orMatch) return (m.orMatch.valueMatchers as Obj[]).some((x) => value(x, v));
  if (m.presentMatch !== undefined) return (v !== undefined) === m.presentMatch;
  throw new Error(`unknown value matcher ${JSON.stringify(m)}`);
}

function string(m: Obj, s: string): boolean {
  const fold = (x: string) => (m.ignoreCase ? x.toLowerCase() : x);
  if (m.exact !== undefined) return fold(s) === fold(m.exact);
  if (m.prefix !== undefined) return fold(s).startsWith(fold(m.prefix));
  if (m.suffix !== undefined) return fold(s).endsWith(fold(m.suffix));
  if (m.contains !== undefined) return fold(s).includes(fold(m.contains));
  if (m.safeRegex) return new RegExp(`^(?:${m.safeRegex.regex})$`, m.ignoreCase ? 'i' : '').test(s);
  throw new Error(`unknown string matcher ${JSON.stringify(m)}`);
}
