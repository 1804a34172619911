// Every example a newcomer can apply: the valid ones render, each invalid one is refused
// with the field and the message it names in its first line.
import { readdirSync, readFileSync } from 'node:fs';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { AppSpec, MAX_FILE_BYTES, MAX_TOTAL_BYTES } from '../src/api/app.js';
import { TenantSpec } from '../src/api/tenant.js';
import { parseAt } from '../src/api/validate.js';
import { runFunction } from '../src/functions/render/fn.js';
import { ROOT, appRequired, exampleApp, exampleTenant, readYaml, request } from './helpers/fixtures.js';

function fatalOf(composite: Record<string, unknown>): string {
  const required = composite.kind === 'App' ? appRequired(composite as never, exampleTenant()) : {};
  const { response } = runFunction(request({ composite, required }));
  const fatal = response.results.find((r) => r.severity === Severity.SEVERITY_FATAL);
  return fatal?.message ?? '';
}

describe('valid examples', () => {
  test('the Tenant parses and renders without a FATAL result', () => {
    expect(parseAt(TenantSpec, exampleTenant().spec, 'spec').ok).toBe(true);
    expect(fatalOf(exampleTenant())).toBe('');
  });
  test('the App parses and renders without a FATAL result', () => {
    expect(parseAt(AppSpec, exampleApp().spec, 'spec').ok).toBe(true);
    expect(fatalOf(exampleApp())).toBe('');
  });
});

const invalid = readdirSync(`${ROOT}/examples/invalid`).filter((f) => f.endsWith('.yaml')).sort();

describe('invalid examples are refused with the field and what is allowed', () => {
  test('there is one for each rule', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
  });
  test.each(invalid)('%s', (file) => {
    const text = readFileSync(`${ROOT}/examples/invalid/${file}`, 'utf8');
    const expected = /^# expect: (.+)$/m.exec(text)?.[1];
    expect(expected).toBeDefined();
    const message = fatalOf(readYaml(`examples/invalid/${file}`));
    expect(message).toContain(expected!);
  });
});

describe('size bounds keep the build context inside one ConfigMap', () => {
  const withFiles = (files: { path: string; content: string }[]) => ({ ...exampleApp(), spec: { files } });
  test('one file over the per-file bound', () => {
    const message = fatalOf(withFiles([{ path: 'app.py', content: 'x'.repeat(MAX_FILE_BYTES + 1) }]));
    expect(message).toContain(`spec.files[0].content: spec.files[].content must be at most ${MAX_FILE_BYTES} characters`);
  });
  test('files that are each fine but too large together', () => {
    const files = [0, 1, 2, 3].map((i) => ({ path: i === 0 ? 'app.py' : `f${i}.py`, content: 'x'.repeat(MAX_FILE_BYTES) }));
    const message = fatalOf(withFiles(files));
    expect(message).toContain(`spec.files: spec.files must hold at most ${MAX_TOTAL_BYTES} characters in all`);
  });
  test('the largest accepted context, with the Dockerfile, fits in a ConfigMap with room to spare', () => {
    const files = [0, 1, 2].map((i) => ({ path: i === 0 ? 'app.py' : `f${i}.py`, content: 'x'.repeat(MAX_FILE_BYTES) }));
    const { response } = runFunction(request({ composite: withFiles(files), required: appRequired(exampleApp(), exampleTenant()) }));
    const cm = Object.entries(response.desired!.resources).find(([k]) => k.startsWith('build-context-'))![1].resource!;
    const bytes = Buffer.byteLength(JSON.stringify(cm));
    expect(bytes).toBeLessThan(900 * 1024);
  });
});
