// The npm package as another project gets it: `npm pack` (which builds lib/ first, scripts/pack.ts),
// then `npm install` of the tarball into an empty project, from the package registry like any
// other dependency. Plain Node imports aerogrid/client, a TypeScript consumer type-checks against
// its .d.ts, and the installed bins run: no tsx, no sources, nothing of this repository's own.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'aerogrid-package-'));
const project = join(work, 'consumer');
// Jest's own NODE_OPTIONS (--experimental-vm-modules) stay out of what a user would run.
const env = { ...process.env, NODE_OPTIONS: '' };

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 600_000, ...opts });
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}
function ok(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

let files: string[] = [];

beforeAll(() => {
  const packed = JSON.parse(ok('npm', ['pack', '--json', '--pack-destination', work, '--loglevel=error'], { cwd: ROOT }).stdout)[0];
  files = packed.files.map((f: { path: string }) => f.path);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  ok('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed.filename)], { cwd: project });
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test('the tarball holds the compiled package, its types and the built page, and none of the repository\'s sources, tests, benchmarks or scripts', () => {
  expect(files).toEqual(expect.arrayContaining([
    'bin/aerogrid.js', 'bin/aerogrid-console.js', 'bin/aerogrid-function.js', 'bin/start.js', 'platform.yaml', 'package.json',
    'lib/src/client/index.js', 'lib/src/client/index.d.ts', 'lib/src/cli/main.js', 'lib/src/console/web/app.js', 'lib/src/functions/main.js',
  ]));
  expect(files.filter((f) => /^(src|test|bench|scripts|examples|docs|dist|imports|\.ci)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
});

test('plain Node imports aerogrid/client from the installed package', () => {
  const r = ok(process.execPath, ['--input-type=module', '-e', `
    import { AerogridClient, ClientError, GROUP_VERSION } from 'aerogrid/client';
    const e = new ClientError('notFound', 'App shop not found');
    console.log(JSON.stringify({ client: typeof AerogridClient.fromKubeconfig, group: GROUP_VERSION, kind: e.kind, error: e instanceof Error }));
  `], { cwd: project });
  expect(JSON.parse(r.stdout)).toEqual({ client: 'function', group: 'platform.aerogrid.io/v1alpha1', kind: 'notFound', error: true });
});

test('a TypeScript consumer type-checks against the package\'s .d.ts, and a wrong use of it does not', () => {
  writeFileSync(join(project, 'good.ts'), `
import { AerogridClient, ClientError, GROUP_VERSION, type App } from 'aerogrid/client';
export async function shop(client: AerogridClient): Promise<string | undefined> {
  const app: App | undefined = await client.apps.find('shop', 'acme-dev');
  try {
    await client.apps.apply({ apiVersion: GROUP_VERSION, kind: 'App', metadata: { name: 'shop', namespace: 'acme-dev' },
      spec: { files: [{ path: 'app.py', content: 'print(1)' }] } }, { fieldManager: 'my-tool' });
  } catch (err) {
    if (err instanceof ClientError && err.kind === 'conflict') return err.managers.join(', ');
  }
  return app?.status?.url;
}
`);
  // The negative control: were the types missing (any), this would compile.
  writeFileSync(join(project, 'bad.ts'), `
import { ClientError, type App } from 'aerogrid/client';
export const kind: number = new ClientError('notFound', 'x').kind;
export const app: App = { apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: 'x' }, spec: { port: 'eighty' } };
`);
  const tsc = (file: string) => run(join(ROOT, 'node_modules/.bin/tsc'), ['--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022',
    // As most projects do: @kubernetes/client-node's own .d.ts name a module (ws) without types.
    '--skipLibCheck', '--typeRoots', join(ROOT, 'node_modules/@types'), '--types', 'node', file], { cwd: project });
  const good = tsc('good.ts');
  expect([good.code, good.stdout]).toEqual([0, '']);
  const bad = tsc('bad.ts');
  expect(bad.code).toBe(2);
  expect(bad.stdout).toMatch(/bad\.ts\(3,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  expect(bad.stdout).toMatch(/bad\.ts\(4,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
}, 120_000);

test('the installed bins run from compiled JavaScript: aerogrid --version, aerogrid render, aerogrid-console --help', () => {
  const bin = (name: string) => join(project, 'node_modules/.bin', name);
  expect(ok(bin('aerogrid'), ['--version'], { cwd: project }).stdout.trim()).toBe(JSON.parse(spawnSync('npm', ['pkg', 'get', 'version'], { cwd: ROOT, encoding: 'utf8' }).stdout));
  // render runs the function in process, with the platform.yaml the package carries.
  const rendered = ok(bin('aerogrid'), ['render', join(ROOT, 'examples/tenant.yaml')], { cwd: project }).stdout;
  expect(rendered).toMatch(/^# Tenant acme: Pending, \d+ composed resource\(s\)$/m);
  expect(rendered).toContain('kind: AuthorizationPolicy');
  expect(ok(bin('aerogrid-console'), ['--help'], { cwd: project }).stdout).toContain('--idle-timeout <duration>');
  // Nothing of tsx was loaded: the package does not carry it.
  expect(run(process.execPath, ['-e', "require.resolve('tsx')"], { cwd: project }).code).not.toBe(0);
}, 120_000);
