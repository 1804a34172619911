// Argo CD health checks against objects in every phase and half-written ones, each run twice: by a
// real Lua 5.1 interpreter (Debian's lua5.1) and by Argo CD's own engine (gopher-lua, through
// `argocd admin settings resource-overrides health`), which must agree.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { platformFileOf, synthesize } from '../src/compositions/synth.js';
import { ensureTool } from '../scripts/lib/controlplane.js';
import { readYaml } from './helpers/fixtures.js';

const cmText = synthesize(platformFileOf(readYaml('platform.yaml'))).get('argocd/argocd-cm.yaml')!;
const cm = parse(cmText);
const script = (key: string) => cm.data[`resource.customizations.health.${key}`] as string;
const dir = mkdtempSync(join(tmpdir(), 'aerogrid-lua-'));
const cmFile = join(dir, 'argocd-cm.yaml');
writeFileSync(cmFile, cmText);
const argocd = ensureTool('argocd');

/** A JSON value as a Lua table constructor. */
function lua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(lua).join(', ')}}`;
  return `{${Object.entries(v as object).map(([k, x]) => `[${JSON.stringify(k)}] = ${lua(x)}`).join(', ')}}`;
}

function lua51(key: string, obj: unknown): { status: string; message: string } {
  const file = join(dir, `${key.replace(/\W/g, '_')}.lua`);
  writeFileSync(file, script(key));
  const harness = `obj = ${lua(obj)}\nlocal hs = dofile(${JSON.stringify(file)})\nio.write(tostring(hs.status), "\\t", tostring(hs.message))`;
  const r = spawnSync('lua5.1', ['-'], { input: harness, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lua5.1 failed: ${r.stderr}`);
  const [status, message] = r.stdout.split('\t');
  return { status, message };
}

/**
 * The same script in Argo CD's own engine (gopher-lua, through Argo CD's health code), offline:
 * `argocd admin settings resource-overrides health` with dist/argocd/argocd-cm.yaml.
 */
function gopherLua(key: string, obj: Record<string, unknown>): { status: string; message: string } {
  const [group, kind] = key.split('_');
  const file = join(dir, 'object.json');
  writeFileSync(file, JSON.stringify({ ...obj, apiVersion: `${group}/v1alpha1`, kind, metadata: { name: 'x', ...(obj.metadata as object) } }));
  const r = spawnSync(argocd, ['admin', 'settings', 'resource-overrides', 'health', file, '--argocd-cm-path', cmFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`argocd admin settings resource-overrides health failed: ${r.stderr}`);
  const status = /^STATUS: (.*)$/m.exec(r.stdout)?.[1];
  const message = /^MESSAGE: ?(.*)$/m.exec(r.stdout)?.[1] ?? '';
  if (!status) throw new Error(`argocd printed no health status:\n${r.stdout}\n${r.stderr}`);
  return { status, message };
}

/** Runs a health script in both engines; they must agree on status and message. */
function health(key: string, obj: Record<string, unknown>): { status: string; message: string } {
  const a = lua51(key, obj);
  const b = gopherLua(key, obj);
  if (a.status !== b.status || a.message !== b.message) {
    throw new Error(`lua5.1 and gopher-lua differ on ${key} ${JSON.stringify(obj)}:\n  lua5.1:     ${a.status}: ${a.message}\n  gopher-lua: ${b.status}: ${b.message}`);
  }
  return a;
}

const app = (status: unknown) => ({ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: 'hello', namespace: 'acme-dev' }, ...(status === undefined ? {} : { status }) });
const verdicts: string[] = [];

describe.each(['platform.aerogrid.io_App', 'platform.aerogrid.io_XApp'])('%s health', (key) => {
  test.each([
    ['no status yet', undefined, 'Progressing', 'Waiting for the aerogrid function'],
    ['status that is not an object', 'weird', 'Progressing', 'Waiting for the aerogrid function'],
    ['empty status', {}, 'Progressing', 'Waiting for the aerogrid function'],
    ['Pending', { phase: 'Pending', message: 'waiting for the settings of the tenant' }, 'Progressing', 'waiting for the settings of the tenant'],
    ['Building', { phase: 'Building', message: 'building sha256:3f2a… (running); still serving sha256:91bc…' }, 'Progressing', 'building sha256:3f2a'],
    ['Deploying', { phase: 'Deploying', message: 'rolling out sha256:3f2a…' }, 'Progressing', 'rolling out'],
    ['Ready', { phase: 'Ready', message: 'serving sha256:3f2a… at https://apps.example.com/apps/acme/hello/', url: 'https://apps.example.com/apps/acme/hello/' }, 'Healthy', 'serving sha256:3f2a'],
    ['Ready without a message', { phase: 'Ready', url: 'https://x/' }, 'Healthy', 'Serving at https://x/'],
    ['Failed', { phase: 'Failed', message: 'build of sha256:3f2a… failed: pip could not find package foo; still serving sha256:91bc…' }, 'Degraded', 'pip could not find package foo'],
    ['Failed without a message', { phase: 'Failed' }, 'Degraded', 'The build failed'],
    ['unknown phase', { phase: 'Exploding', message: 'hm' }, 'Progressing', 'Unknown phase Exploding: hm'],
    ['a FATAL result (Synced=False)', { phase: 'Ready', conditions: [{ type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'spec.runtime: runtime python3.11 is not offered' }] }, 'Degraded', 'spec.runtime: runtime python3.11 is not offered'],
    ['conditions that are not a list', { phase: 'Building', conditions: 'x' }, 'Progressing', 'Building'],
    ['a condition that is not an object', { phase: 'Building', conditions: ['x', 3] }, 'Progressing', 'Building'],
    ['a message that is not a string', { phase: 'Ready', message: { nested: true }, url: 'u' }, 'Healthy', 'Serving at u'],
  ])('%s', (name, status, expected, message) => {
    const hs = health(key, app(status));
    expect(hs.status).toBe(expected);
    expect(hs.message).toContain(message);
    if (key.endsWith('_App')) verdicts.push(`App ${name.padEnd(34)} → ${hs.status}: ${hs.message}`);
  });
});

describe.each(['platform.aerogrid.io_Tenant', 'platform.aerogrid.io_XTenant'])('%s health', (key) => {
  test.each([
    ['no status yet', undefined, 'Progressing'],
    ['Pending', { phase: 'Pending', message: 'waiting for 3 resource(s)' }, 'Progressing'],
    ['Ready', { phase: 'Ready', message: '2 namespace(s) ready' }, 'Healthy'],
    ['Failed', { phase: 'Failed', message: 'x' }, 'Degraded'],
    ['FATAL', { conditions: [{ type: 'Synced', status: 'False', message: 'spec.namespaces: namespace acme-dev already belongs to tenant globex' }] }, 'Degraded'],
    ['unknown phase', { phase: 'Melting' }, 'Progressing'],
  ])('%s', (name, status, expected) => {
    const hs = health(key, { kind: 'Tenant', metadata: { name: 'acme' }, ...(status === undefined ? {} : { status }) });
    expect(hs.status).toBe(expected);
    if (key.endsWith('_Tenant')) verdicts.push(`Tenant ${name.padEnd(31)} → ${hs.status}: ${hs.message}`);
  });
});

describe('package and Application health, which the sync waves wait on', () => {
  test.each([
    ['pkg.crossplane.io_Function', { status: { conditions: [{ type: 'Installed', status: 'True' }, { type: 'Healthy', status: 'True' }] } }, 'Healthy'],
    ['pkg.crossplane.io_Function', { status: { conditions: [{ type: 'Installed', status: 'True' }] } }, 'Progressing'],
    ['pkg.crossplane.io_Configuration', { status: { conditions: [{ type: 'Healthy', status: 'False', message: 'missing dependency' }] } }, 'Progressing'],
    ['pkg.crossplane.io_Configuration', {}, 'Progressing'],
    ['argoproj.io_Application', { status: { health: { status: 'Healthy' } } }, 'Healthy'],
    ['argoproj.io_Application', { status: {} }, 'Progressing'],
  ])('%s %j → %s', (key, obj, expected) => {
    expect(health(key, obj).status).toBe(expected);
  });
});

test('annotation tracking, so that no tracking label is copied onto XRs and what they compose', () => {
  expect(cm.data['application.resourceTrackingMethod']).toBe('annotation');
});

afterAll(() => console.log(`Argo CD health verdicts (lua5.1 and Argo CD's gopher-lua agree on each):\n${verdicts.join('\n')}`));
