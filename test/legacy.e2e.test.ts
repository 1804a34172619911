// Tier T3, legacy flavour: the v1 XRDs (cluster-scoped XTenant and XApp, with the namespaced claim
// App) from dist/legacy/, installed through Crossplane's package manager on real Crossplane core
// v2.3.4, which serves v1 XRDs as legacy XRs. The same function composes them, and the real node
// builds and runs the claim's App.
import { waitUntil, isTrue } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import { startPlatform, type Platform } from '../scripts/lib/platform.js';
import { answer } from '../scripts/lib/answer.js';
import { exampleApp, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;

beforeAll(async () => {
  p = await startPlatform({ legacy: true });
}, 300_000);
afterAll(async () => {
  await p?.stop();
});

describe('the legacy flavour on real Crossplane', () => {
  test('an XTenant goes Ready and composes its namespaces', async () => {
    must(p.cp.apply([{ ...exampleTenant(), kind: 'XTenant' }]));
    const t = await waitUntil('XTenant acme Ready', () => {
      const o = p.get('xtenant', 'acme');
      return o?.status?.phase === 'Ready' && isTrue(o, 'Ready') ? o : undefined;
    }, 60_000, () => JSON.stringify(p.get('xtenant', 'acme')?.status ?? null));
    expect(t.status.namespaces).toEqual(['acme-dev', 'acme-prod']);
    expect(p.get('namespace', 'acme-dev')!.metadata.labels['platform.aerogrid.io/tenant']).toBe('acme');
  }, 90_000);

  test('an App claim goes Ready through its XApp, with one build, and answers', async () => {
    must(p.cp.apply([exampleApp()]));
    const claim = await waitUntil('App claim hello Ready', () => {
      const o = p.get('app', 'hello', 'acme-dev');
      return isTrue(o, 'Ready') && o?.status?.phase === 'Ready' ? o : undefined;
    }, 180_000, () => JSON.stringify(p.get('app', 'hello', 'acme-dev')?.status ?? null));
    expect(claim.status.url).toBe('https://apps.example.com/apps/acme-dev/hello/');
    const xr: Obj = p.get('xapp', claim.spec.resourceRef.name)!;
    expect(xr.status.phase).toBe('Ready');
    expect(p.get('deployment', 'hello', 'acme-dev')).toBeDefined();
    expect(p.buildsOf('acme-dev', 'hello')).toHaveLength(1);
    expect(JSON.parse(await answer(p, 'acme-dev', 'hello'))).toEqual({ message: 'hello from aerogrid' });
  }, 240_000);
});
