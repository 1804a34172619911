// The synthesized XRDs and input CRD: structural, documented, with CEL rules that carry
// messages, and the printer columns `kubectl get` shows.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../scripts/lib/net.js';
import { synthesize, platformFileOf } from '../src/compositions/synth.js';
import { readYaml } from './helpers/fixtures.js';
import { parse } from 'yaml';

const files = synthesize(platformFileOf(readYaml('platform.yaml')));
const doc = (path: string) => parse(files.get(path)!) as Record<string, any>;

type Node = Record<string, any>;

/** Walks a schema; returns the offences that make a CRD schema non-structural or undocumented. */
function offences(node: Node, path: string, out: string[] = []): string[] {
  for (const key of ['$ref', 'oneOf', 'anyOf', 'allOf', 'not', 'nullable', 'const', 'definitions', '$defs']) {
    if (key in node) out.push(`${path}: uses ${key}`);
  }
  if (typeof node.type !== 'string') out.push(`${path}: has no type`);
  if (node.additionalProperties === false) out.push(`${path}: additionalProperties: false`);
  if (node.properties && node.additionalProperties) out.push(`${path}: both properties and additionalProperties`);
  for (const v of node['x-kubernetes-validations'] ?? []) {
    if (typeof v.rule !== 'string' || typeof v.message !== 'string' || v.message.length < 10) out.push(`${path}: CEL rule without a message`);
  }
  for (const [k, v] of Object.entries(node.properties ?? {})) offences(v as Node, `${path}.${k}`, out);
  if (node.items) offences(node.items, `${path}[]`, out);
  if (typeof node.additionalProperties === 'object') offences(node.additionalProperties, `${path}{}`, out);
  return out;
}

function celRules(node: Node, out: string[] = []): string[] {
  for (const v of node['x-kubernetes-validations'] ?? []) out.push(v.message);
  for (const v of Object.values(node.properties ?? {})) celRules(v as Node, out);
  if (node.items) celRules(node.items, out);
  return out;
}

const xrds = ['configuration/apis/tenants', 'configuration/apis/apps', 'legacy/configuration/apis/xtenants', 'legacy/configuration/apis/xapps'];

describe.each(xrds)('%s', (dir) => {
  const xrd = doc(`${dir}/definition.yaml`);
  const schema = xrd.spec.versions[0].schema.openAPIV3Schema;
  test('is structural', () => {
    expect(offences(schema, '')).toEqual([]);
  });
  test('carries CEL rules, each with a message that names a field', () => {
    const messages = celRules(schema);
    expect(messages.length).toBeGreaterThan(3);
    for (const m of messages) expect(m).toMatch(/^(spec|status)\.[a-zA-Z]/);
  });
  test('its Composition runs the aerogrid function in Pipeline mode with validated settings', () => {
    const composition = doc(`${dir}/composition.yaml`);
    expect(composition.spec.mode).toBe('Pipeline');
    expect(composition.spec.compositeTypeRef).toEqual({ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: xrd.spec.names.kind });
    const step = composition.spec.pipeline[0];
    expect(step.functionRef.name).toBe('aerogrid-function-aerogrid');
    expect(step.input).toMatchObject({ apiVersion: 'fn.platform.aerogrid.io/v1alpha1', kind: 'PlatformSettings', appsDomain: 'apps.example.com' });
  });
});

describe('flavours', () => {
  test('v2: Tenant is cluster-scoped, App is namespaced', () => {
    expect(doc('configuration/apis/tenants/definition.yaml')).toMatchObject({ apiVersion: 'apiextensions.crossplane.io/v2', spec: { scope: 'Cluster', names: { kind: 'Tenant' } } });
    expect(doc('configuration/apis/apps/definition.yaml')).toMatchObject({ apiVersion: 'apiextensions.crossplane.io/v2', spec: { scope: 'Namespaced', names: { kind: 'App' } } });
  });
  test('legacy: v1 XRDs for XTenant, and XApp with claim kind App', () => {
    const xtenant = doc('legacy/configuration/apis/xtenants/definition.yaml');
    const xapp = doc('legacy/configuration/apis/xapps/definition.yaml');
    expect(xtenant).toMatchObject({ apiVersion: 'apiextensions.crossplane.io/v1', spec: { names: { kind: 'XTenant' } } });
    expect(xtenant.spec.claimNames).toBeUndefined();
    expect(xapp).toMatchObject({ apiVersion: 'apiextensions.crossplane.io/v1', spec: { names: { kind: 'XApp' }, claimNames: { kind: 'App', plural: 'apps' } } });
    expect(xapp.spec.scope).toBeUndefined();
  });
  test('legacy and v2 share one schema, generated from the same construct', () => {
    const v2 = doc('configuration/apis/apps/definition.yaml').spec.versions[0].schema;
    const legacy = doc('legacy/configuration/apis/xapps/definition.yaml').spec.versions[0].schema;
    expect(legacy).toEqual(v2);
  });
  test('the App printer columns answer "where is my app and why is it not up"', () => {
    const columns = doc('configuration/apis/apps/definition.yaml').spec.versions[0].additionalPrinterColumns;
    expect(columns.map((c: { name: string }) => c.name)).toEqual(['PHASE', 'URL', 'REVISION', 'IMAGE', 'MESSAGE']); // Crossplane adds SYNCED, READY, COMPOSITION, AGE
  });
  test('the packages: a Configuration that depends on the Function, with a Crossplane constraint', () => {
    expect(doc('configuration/crossplane.yaml').spec).toEqual({
      crossplane: { version: '>=v2.0.0' },
      dependsOn: [{ function: 'xpkg.aerogrid.io/aerogrid/function-aerogrid', version: '>=v0.1.0' }],
    });
    expect(doc('legacy/configuration/crossplane.yaml').spec.crossplane.version).toBe('>=v1.17.0');
    expect(doc('function/crossplane.yaml').kind).toBe('Function');
  });
  test('the input CRD is structural and generated from the settings schema', () => {
    const crd = doc('function/input/fn.platform.aerogrid.io_platformsettings.yaml');
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    expect(offences(schema, '')).toEqual([]);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['appsDomain', 'registry', 'kanikoImage', 'runtimes', 'defaultTier']));
  });
  test('the function image runs as non-root', () => {
    expect(files.get('function/Dockerfile')).toMatch(/^USER 65532:65532$/m);
  });
  test('the Dockerfile describes an image that can run: Node.js >= 20.19, entry points that exist, metrics on an exposed port', () => {
    const dockerfile = files.get('function/Dockerfile')!;
    // package.json's engines want 20.19; bookworm ships Node.js 18, trixie 20.19.
    expect(dockerfile.match(/^FROM \S+/gm)).toEqual(['FROM docker.io/library/debian:trixie-slim', 'FROM docker.io/library/debian:trixie-slim']);
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node).toBe('>=20.19');
    const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)![1]) as string[];
    const consoleEntry = JSON.parse(/runs from it too: (\[.+\]), on port/.exec(dockerfile)![1]) as string[];
    for (const entry of [entrypoint, consoleEntry]) {
      expect(entry[0]).toBe('node');
      // lib/ is tsc's output of the sources (tsconfig.package.json): lib/src/x.js comes from src/x.ts.
      expect(existsSync(join(ROOT, entry.at(-1)!.replace(/^lib\//, '').replace(/\.js$/, '.ts')))).toBe(true);
    }
    const metrics = /^ENV FUNCTION_METRICS_ADDRESS=0\.0\.0\.0:(\d+)$/m.exec(dockerfile)![1];
    expect(/^EXPOSE (.+)$/m.exec(dockerfile)![1].split(' ')).toEqual(['9443', metrics]);
  });
});

describe('platform.yaml validation names the offending field', () => {
  test.each([
    [{ settings: { registry: 'Not A Registry' } }, 'settings.registry: registry must be a registry host'],
    [{ settings: { defaultTier: 'gold' } }, 'settings.defaultTier: Invalid option'],
    [{ packages: { version: '1.0' } }, 'packages.version: packages.version must be a semantic version'],
    [{ extra: true }, 'Unrecognized key'],
  ])('%j', (patch, message) => {
    const base = readYaml<Record<string, any>>('platform.yaml');
    const merged = { ...base, ...patch, packages: { ...base.packages, ...(patch as any).packages }, settings: { ...base.settings, ...(patch as any).settings } };
    expect(() => platformFileOf(merged)).toThrow(message);
  });
});
