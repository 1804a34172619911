// The CLI's parts that need no cluster: reading a folder (ignore rules, what is refused),
// the App it builds and the messages that name the file, output formats, the progress of
// `push --wait`, `init` and `render`. The cluster side is in cli.e2e.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { MAX_TOTAL_BYTES } from '../src/api/app.js';
import { CliError } from '../src/cli/errors.js';
import { age, formatList, formatReleases, formatStatus, table } from '../src/cli/format.js';
import { SCAFFOLD, init } from '../src/cli/init.js';
import { ManifestError, appManifest, appName, parseCommand } from '../src/cli/manifest.js';
import { envChange, scaleChange } from '../src/cli/settings.js';
import { Progress } from '../src/present/progress.js';
import { DEFAULT_PLATFORM, formatRendered, platformInput, readDocuments, render } from '../src/cli/render.js';
import { SourceError, readSource } from '../src/cli/source.js';
import { ROOT } from './helpers/fixtures.js';

type Obj = Record<string, any>;

/** A folder holding the given files (content by path); returns its path. */
function folder(files: Record<string, string | Buffer>, name = 'shop'): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'aerogrid-cli-unit-')), name);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const problems = (f: () => unknown): string[] => {
  try {
    f();
  } catch (err) {
    if (err instanceof ManifestError) return err.problems;
    throw err;
  }
  throw new Error('expected a ManifestError');
};

describe('reading a folder', () => {
  test('sends source files, sorted, and leaves out what never belongs in a build context', () => {
    const dir = folder({
      'app.py': 'print(1)\n',
      'requirements.txt': 'flask\n',
      'pkg/util.py': 'X = 1\n',
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.env': 'SECRET=1\n',
      '.venv/bin/python': 'x',
      'env/pyvenv.cfg': 'home = /usr/bin\n', // a virtualenv whatever its name
      'env/lib/site.py': 'x',
      'pkg/__pycache__/util.cpython-312.pyc': 'x',
      'old.pyc': 'x',
      'node_modules/left-pad/index.js': 'x',
      'shop.egg-info/PKG-INFO': 'x',
    });
    const source = readSource(dir);
    expect(source.files.map((f) => f.path)).toEqual(['app.py', 'pkg/util.py', 'requirements.txt']);
    expect(source.files[0].content).toBe('print(1)\n');
    expect(source.skipped).toEqual(expect.arrayContaining([
      { path: '.git/', why: 'ignored' },
      { path: '.env', why: 'ignored' },
      { path: '.venv/', why: 'ignored' },
      { path: 'env/', why: 'a Python virtualenv' },
      { path: 'pkg/__pycache__/', why: 'ignored' },
      { path: 'old.pyc', why: 'ignored' },
      { path: 'node_modules/', why: 'ignored' },
      { path: 'shop.egg-info/', why: 'ignored' },
    ]));
  });

  test('.aerogridignore adds rules in gitignore syntax, and can re-include with !', () => {
    const dir = folder({
      '.aerogridignore': '# comments are fine\ntests/\n*.md\n!README.md\n/data.csv\n',
      'app.py': 'x',
      'tests/test_app.py': 'x',
      'NOTES.md': 'x',
      'README.md': 'x',
      'data.csv': 'x',
      'sub/data.csv': 'x',
    });
    expect(readSource(dir).files.map((f) => f.path)).toEqual(['README.md', 'app.py', 'sub/data.csv']);
  });

  test('refuses what it cannot send, naming the file and what to do', () => {
    const binary = folder({ 'app.py': 'x', 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe]) });
    expect(() => readSource(binary)).toThrow(new SourceError('logo.png: is not UTF-8 text; an App carries source files only. Add it to .aerogridignore, or bake it into an image and use spec.image'));

    // Valid UTF-8 is not enough: a PNG of NUL bytes decodes, and is still no source file.
    const nul = folder({ 'app.py': 'x', 'pixel.png': Buffer.alloc(64) });
    expect(() => readSource(nul)).toThrow(new SourceError('pixel.png: is binary (it holds NUL bytes); an App carries source files only. Add it to .aerogridignore, or bake it into an image and use spec.image'));

    const linked = folder({ 'app.py': 'x' });
    symlinkSync(join(linked, 'app.py'), join(linked, 'main.py'));
    expect(() => readSource(linked)).toThrow('main.py: is a symbolic link; aerogrid sends the files themselves');

    const empty = folder({ '.aerogridignore': '*\n', 'app.py': 'x' });
    expect(() => readSource(empty)).toThrow(/: no files to push \(after \.aerogridignore and the default ignores\)$/);
    expect(() => readSource('/no/such/folder')).toThrow('/no/such/folder: no such folder');
    expect(() => readSource(join(ROOT, 'README.md'))).toThrow(/README\.md: not a folder/);
  });
});

describe('the App a push applies', () => {
  const files = [{ path: 'app.py', content: 'x' }];

  test('holds only what the developer said: no runtime or access unless given', () => {
    expect(appManifest('shop', files, {})).toEqual({ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: 'shop', namespace: '' }, spec: { files } });
    expect(appManifest('shop', files, { runtime: 'python3.11', public: true }).spec).toEqual({ files, runtime: 'python3.11', access: { public: true } });
  });

  test('the name comes from --name or the folder, and a bad one says where it came from', () => {
    expect(appName('/x/shop', undefined)).toBe('shop');
    expect(appName('/x/Shop_Folder', 'shop')).toBe('shop');
    expect(problems(() => appName('/x/Shop_Folder', undefined))).toEqual([expect.stringMatching(/^app name "Shop_Folder" \(taken from the folder name; pass --name\): /)]);
    expect(problems(() => appName('.', 'a-name-that-is-far-too-long-for-an-app'))[0]).toMatch(/^app name "a-name-that-is-far-too-long-for-an-app" \(--name\): .*30/);
  });

  test('a schema problem names the file, not spec.files[n]', () => {
    expect(problems(() => appManifest('shop', [...files, { path: 'Dockerfile', content: 'FROM scratch' }], {})))
      .toEqual(['Dockerfile: spec.files[].path must not be Dockerfile or .dockerignore: aerogrid generates them for the runtime']);
    expect(problems(() => appManifest('shop', [...files, { path: 'my app.py', content: 'x' }], {}))[0]).toMatch(/^my app\.py: .*letters, digits/);
  });

  test('too much source for a ConfigMap, and an unknown runtime, are refused before any request', () => {
    const big = [...files, ...Array.from({ length: 4 }, (_, i) => ({ path: `data${i}.py`, content: 'x'.repeat(250 * 1024) }))];
    expect(problems(() => appManifest('shop', big, {}))).toEqual([`spec.files: spec.files must hold at most ${MAX_TOTAL_BYTES} characters in all, so that the build context fits in one ConfigMap`]);
    expect(problems(() => appManifest('shop', files, { runtime: 'python2.7' }))).toEqual(['spec.runtime: spec.runtime must be a runtime name such as python3.13']);
  });

  test('too many files: how many were found, and how to leave some out', () => {
    const many = Array.from({ length: 70 }, (_, i) => ({ path: `m${i}.py`, content: 'x' }));
    expect(problems(() => appManifest('shop', [...files, ...many], {}))).toEqual([
      'the folder holds 71 files to send; an App takes at most 64. List what the build does not need (data, tests, assets) in .aerogridignore, or bake it into an image and use --image',
    ]);
  });

  test('--image, --command, --port and --health-path; an image needs no files', () => {
    expect(appManifest('shop', undefined, { image: 'registry.example.com/t/shop:1.0', port: 9000 }).spec).toEqual({ image: 'registry.example.com/t/shop:1.0', port: 9000 });
    expect(appManifest('shop', files, { command: ['gunicorn', 'app:app'], healthPath: '/healthz', public: false }).spec)
      .toEqual({ files, command: ['gunicorn', 'app:app'], healthPath: '/healthz', access: { public: false } });
    expect(problems(() => appManifest('shop', files, { port: 80 }))).toEqual(['spec.port: spec.port must be 1024 or above: the app runs as a non-root user']);
    expect(problems(() => appManifest('shop', files, { healthPath: 'healthz' }))).toEqual(["spec.healthPath: spec.healthPath must start with '/'"]);
    expect(problems(() => appManifest('shop', undefined, { image: 'Not An Image' }))[0]).toMatch(/^spec\.image: .*an image reference/);
    expect(parseCommand('gunicorn -b "0.0.0.0:8080" --name \'my app\' app:app')).toEqual(['gunicorn', '-b', '0.0.0.0:8080', '--name', 'my app', 'app:app']);
    expect(parseCommand('["python", "-m", "shop"]')).toEqual(['python', '-m', 'shop']);
    expect(problems(() => parseCommand('[1, 2]'))).toEqual(['--command [1, 2]: give a non-empty JSON array of strings']);
  });
});

describe('env and scale: each applies only the fields it owns', () => {
  const owned = (manager: string, fields: Obj) => ({ manager, operation: 'Apply', fieldsV1: { 'f:spec': fields } });
  const app = (spec: Obj, managedFields: Obj[] = []): any => ({ metadata: { name: 'shop', managedFields }, spec: { files: [{ path: 'app.py', content: 'x' }], ...spec } });
  const k = (name: string) => `k:${JSON.stringify({ name })}`;

  test('env set sends what aerogrid env set before, updated, and never what others set', () => {
    const a = app({ env: [{ name: 'A', value: '1' }, { name: 'FROM_GIT', value: 'g' }] }, [
      owned('aerogrid-env', { 'f:env': { [k('A')]: {} } }),
      owned('argocd-controller', { 'f:env': { [k('FROM_GIT')]: {} } }),
    ]);
    const change = envChange(a, { set: ['B=2', 'URL=https://x/?a=b'], secrets: ['db'] });
    expect(change.spec).toEqual({ env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }, { name: 'URL', value: 'https://x/?a=b' }], envFromSecrets: [{ name: 'db' }] });
    expect(change.summary).toBe('set B, set URL, reads Secret db');
    expect(envChange(a, { unset: ['A'] }).spec.env).toEqual([]);
  });

  test('env refuses, and says who to ask, what it cannot do', () => {
    const a = app({ env: [{ name: 'FROM_GIT', value: 'g' }] }, [owned('argocd-controller', { 'f:env': { [k('FROM_GIT')]: {} } })]);
    expect(() => envChange(a, { unset: ['FROM_GIT'] })).toThrow('FROM_GIT is set by argocd-controller, not by aerogrid env; change it where it is managed (for Argo CD: in Git)');
    expect(() => envChange(a, { unset: ['NOPE'] })).toThrow('App shop has no variable NOPE');
    expect(() => envChange(a, { set: ['novalue'] })).toThrow('novalue: give KEY=VALUE (an empty value is KEY=)');
    expect(() => envChange(a, { set: ['1BAD=x'] })).toThrow(/spec\.env\[\d\]\.name: .*a C identifier/);
    expect(() => envChange(a, { set: ['PORT=1'] })).toThrow(/PORT is set by the platform from spec\.port/);
  });

  test('scale: replicas or autoscaling, checked against the schema', () => {
    expect(scaleChange(app({}), { replicas: 3 })).toEqual({ spec: { replicas: 3 }, summary: 'scaled to 3 replica(s)', warnings: [] });
    expect(scaleChange(app({}), { max: 5 }).spec).toEqual({ autoscaling: { minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 80 } });
    expect(() => scaleChange(app({}), { min: 6, max: 5 })).toThrow('spec.autoscaling: spec.autoscaling.minReplicas must not exceed spec.autoscaling.maxReplicas');
    expect(() => scaleChange(app({}), { replicas: 2, max: 5 })).toThrow('give --replicas, or --min/--max/--cpu-percent to autoscale, not both');
    expect(() => scaleChange(app({}), { replicas: 51 })).toThrow(/spec\.replicas/);
    const fromGit = app({ autoscaling: { minReplicas: 1, maxReplicas: 4 } }, [owned('argocd-controller', { 'f:autoscaling': {} })]);
    expect(scaleChange(fromGit, { replicas: 2 }).warnings).toEqual(['spec.autoscaling is set by argocd-controller: while it is, spec.replicas is ignored']);
  });
});

describe('output formats', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  const ready: Obj = {
    apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App',
    metadata: { name: 'shop', namespace: 'acme-dev', creationTimestamp: '2026-11-22T11:55:00Z', managedFields: [{ manager: 'aerogrid' }] },
    spec: { runtime: 'python3.13', files: [{ path: 'app.py', content: 'x' }, { path: 'requirements.txt', content: '' }] },
    status: {
      phase: 'Ready', url: 'https://apps.example.com/apps/acme-dev/shop/', access: 'jwt', image: 'r/acme/shop:3f2a', sourceDigest: 'sha256:3f2a',
      build: { phase: 'Succeeded', job: 'shop-build-3f2a' }, message: 'serving sha256:3f2a', revision: 2,
      releases: [{ revision: 1, image: `r/acme/shop:${'a'.repeat(64)}`, sourceDigest: `sha256:${'a'.repeat(64)}`, readyAt: '2026-11-22T11:00:00Z' }, { revision: 2, image: 'r/acme/shop:3f2a', sourceDigest: 'sha256:3f2a' }],
      conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: '' }],
    },
  };
  const failed: Obj = { ...ready, metadata: { name: 'api', namespace: 'acme-prod', creationTimestamp: '2026-11-20T12:00:00Z' }, spec: { files: [] }, status: { phase: 'Failed', access: 'public' } };

  test('age reads like kubectl', () => {
    expect(['2026-11-22T11:59:15Z', '2026-11-22T11:55:00Z', '2026-11-22T07:00:00Z', '2026-11-19T12:00:00Z', undefined].map((t) => age(t, now)))
      .toEqual(['45s', '5m', '5h', '3d', '<unknown>']);
  });

  test('list: a table whose columns line up, with NAMESPACE for -A', () => {
    const lines = formatList([ready, failed], 'table', now, true).split('\n');
    expect(lines).toEqual([
      'NAMESPACE   NAME   PHASE    URL                                            REVISION   ACCESS   AGE',
      'acme-dev    shop   Ready    https://apps.example.com/apps/acme-dev/shop/   2          jwt      5m',
      'acme-prod   api    Failed                                                             public   2d',
    ]);
    expect(formatList([], 'table', now)).toBe('No apps found.');
    expect(table(['A', 'LONGER'], [['xyz', '1']])).toBe('A     LONGER\nxyz   1');
  });

  test('json and yaml give the objects as the server has them, without managedFields', () => {
    const json = JSON.parse(formatList([ready], 'json', now));
    expect(json.kind).toBe('List');
    expect(json.items[0].status).toEqual(ready.status);
    expect(json.items[0].metadata.managedFields).toBeUndefined();
    expect(parse(formatStatus(ready, 'yaml', now))).toEqual({ ...ready, metadata: { name: 'shop', namespace: 'acme-dev', creationTimestamp: '2026-11-22T11:55:00Z' } });
    // Timestamps quoted as kubectl quotes them: a YAML 1.1 reader would make a date of a bare one.
    expect(formatStatus(ready, 'yaml', now)).toMatch(/^ {2}creationTimestamp: "2026-11-22T11:55:00Z"$/m);
    expect(parse(formatStatus(ready, 'yaml', now), { version: '1.1' }).metadata.creationTimestamp).toBe('2026-11-22T11:55:00Z');
  });

  test('status: where the app is and why, then its conditions', () => {
    const text = formatStatus(ready, 'table', now);
    expect(text.split('\n').slice(0, 3)).toEqual(['App:       shop', 'Namespace: acme-dev', 'Phase:     Ready']);
    expect(text).toMatch(/^Access:    jwt \(a valid Auth0 token from an allowed group is required\)$/m);
    expect(text).toMatch(/^Build:     Succeeded \(Job shop-build-3f2a\)$/m);
    expect(text).toMatch(/^Files:     app\.py, requirements\.txt$/m);
    expect(text).toMatch(/^Revision:  2 of 2 release\(s\)$/m);
    expect(text).toMatch(/^Scale:     1 replica\(s\)$/m);
    expect(text.split('\n').slice(-3)).toEqual(['Conditions:', '  TYPE    STATUS   REASON      MESSAGE', '  Ready   True     Available']);
    expect(formatStatus({ metadata: { name: 'new' } }, 'table', now)).toBe('App:       new\nPhase:     Pending\nScale:     1 replica(s)\nAge:       <unknown>');
  });

  test('releases: newest last, * on the one serving, the tag and source shortened', () => {
    expect(formatReleases(ready, 'table', now).split('\n')).toEqual([
      'REVISION   IMAGE              SOURCE                READY',
      ` 1         ${'a'.repeat(12)}       sha256:${'a'.repeat(12)}   60m ago`,
      '*2         r/acme/shop:3f2a   sha256:3f2a',
    ]);
    expect(JSON.parse(formatReleases(ready, 'json', now)).current).toBe(2);
    expect(formatReleases({ metadata: { name: 'new' } }, 'table', now)).toBe('App new has no release yet: none of its images has reached Ready');
  });
});

describe('the progress of push --wait', () => {
  const since = new Date('2026-11-22T12:00:00Z');
  const app = (status: Obj) => ({ metadata: { name: 'shop', generation: 2 }, status });
  const follow = () => {
    const lines: string[] = [];
    return { lines, progress: new Progress(2, since, (l) => lines.push(l)) };
  };

  test('ignores the status of an older generation, then follows the build to Ready', () => {
    const { lines, progress } = follow();
    expect(progress.see(app({ observedGeneration: 1, phase: 'Ready', url: 'https://old/' }))).toEqual({ done: false });
    const building = { observedGeneration: 2, phase: 'Building', sourceDigest: 'sha256:3f2a11112222333344445555', build: { phase: 'Running', job: 'shop-build-3f2a111122' } };
    expect(progress.see(app(building))).toEqual({ done: false });
    expect(progress.see(app(building))).toEqual({ done: false });
    expect(progress.see(app({ ...building, phase: 'Deploying', image: 'r/shop:3f2a', build: { phase: 'Succeeded', digest: 'sha256:3f2a11112222333344445555' } }))).toEqual({ done: false });
    expect(progress.see(app({ observedGeneration: 2, phase: 'Ready', url: 'https://apps/shop/' }))).toEqual({ done: true, ok: true, url: 'https://apps/shop/' });
    expect(lines).toEqual([
      'waiting for the platform to pick up this version',
      'source sha256:3f2a11112222…',
      'building (Job shop-build-3f2a111122)',
      'build succeeded: sha256:3f2a11112222…',
      'deploying r/shop:3f2a',
      'ready: https://apps/shop/',
    ]);
  });

  test('a failed build ends it with the reason', () => {
    const { lines, progress } = follow();
    const verdict = progress.see(app({ observedGeneration: 2, phase: 'Failed', message: 'build of sha256:3f2a… failed: pip could not find package foo', build: { phase: 'Failed', message: 'pip could not find package foo' } }));
    expect(verdict).toEqual({ done: true, ok: false, reason: 'build of sha256:3f2a… failed: pip could not find package foo' });
    expect(lines).toEqual(['build failed: pip could not find package foo', 'failed: build of sha256:3f2a… failed: pip could not find package foo']);
  });

  test("the platform's refusal of this push ends it; a refusal of an earlier push does not", () => {
    const refused = (c: Obj) => app({ conditions: [{ type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'spec.runtime: no', ...c }] });
    expect(follow().progress.see(refused({ observedGeneration: 1 }))).toEqual({ done: false });
    expect(follow().progress.see(refused({ lastTransitionTime: '2026-11-22T11:59:00Z' }))).toEqual({ done: false });
    expect(follow().progress.see(refused({ observedGeneration: 2 }))).toEqual({ done: true, ok: false, reason: 'the platform refused App shop: spec.runtime: no' });
    expect(follow().progress.see(refused({ lastTransitionTime: '2026-11-22T12:00:00Z' }))).toMatchObject({ done: true, ok: false });
    // As Crossplane core v2.3.4 words a FATAL result: the user sees the function's message alone.
    const wrapped = refused({ observedGeneration: 2, message: 'cannot compose resources: pipeline step "render" returned a fatal result: App acme-dev/shop: spec.runtime: no' });
    expect(follow().progress.see(wrapped)).toEqual({ done: true, ok: false, reason: 'the platform refused App shop: App acme-dev/shop: spec.runtime: no' });
  });
});

describe('init', () => {
  test('writes an app that serves on $PORT, and never overwrites', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'aerogrid-init-')), 'hello');
    expect(init(dir)).toEqual(['app.py', 'requirements.txt', '.aerogridignore']);
    expect(readFileSync(join(dir, 'app.py'), 'utf8')).toContain('int(os.environ.get("PORT", "8080"))');
    // What init writes is what push sends, and the schema accepts it.
    const source = readSource(dir);
    expect(source.files.map((f) => f.path)).toEqual(['app.py', 'requirements.txt']);
    expect(() => appManifest('hello', source.files, {})).not.toThrow();
    expect(() => init(dir)).toThrow(new CliError(`${dir}: app.py, requirements.txt, .aerogridignore already exist; aerogrid init does not overwrite files`));
    expect(Object.keys(SCAFFOLD)).toHaveLength(3);
  });
});

describe('render, with no cluster', () => {
  const examples = ['examples/tenant.yaml', 'examples/app.yaml'].map((f) => join(ROOT, f));

  test('renders the Tenant first, then the App in a namespace the Tenant composes', () => {
    const results = render(readDocuments(examples.slice().reverse()), platformInput(DEFAULT_PLATFORM));
    expect(results.map((r) => [r.xr, r.fatal, r.resources.length])).toEqual([['Tenant acme', undefined, 36], ['App acme-dev/hello', undefined, 6]]);
    const app = results[1];
    expect(app.status.phase).toBe('Building');
    expect(app.resources.map((r) => r.kind).sort()).toEqual(['AuthorizationPolicy', 'ConfigMap', 'Job', 'RequestAuthentication', 'Service', 'VirtualService']);
    const yaml = formatRendered(results, 'yaml');
    expect(yaml).toMatch(/^# App acme-dev\/hello → Job acme-dev\/hello-build-[0-9a-f]{10}$/m);
    expect(JSON.parse(formatRendered(results, 'json')).items).toHaveLength(42);
  });

  test('an App without its Tenant, or a file that is not aerogrid\'s, is named', () => {
    const [alone] = render(readDocuments([examples[1]]), platformInput(DEFAULT_PLATFORM));
    expect(alone.fatal).toBe('App acme-dev/hello: no Tenant in these files composes namespace acme-dev; pass the Tenant\'s YAML too (aerogrid render tenant.yaml app.yaml)');
    const other = folder({ 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' });
    expect(() => readDocuments([join(other, 'cm.yaml')])).toThrow(`${join(other, 'cm.yaml')}: ConfigMap x: aerogrid renders Tenant and App objects of platform.aerogrid.io`);
  });

  test('an invalid App gets the function\'s FATAL message', () => {
    const [, bad] = render(readDocuments([examples[0], join(ROOT, 'examples/invalid/app-runtime.yaml')]), platformInput(DEFAULT_PLATFORM));
    expect(bad.fatal).toMatch(/spec\.runtime/);
    expect(bad.resources).toEqual([]);
  });
});
