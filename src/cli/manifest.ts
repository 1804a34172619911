// The App that `aerogrid push` applies, built from a folder and the flags, and checked
// locally against the very schema the XRD and the function enforce, before any request.
import { basename, resolve } from 'node:path';
import { APP_NAME_MAX, AppSpec, RUNTIMES, type AppFile } from '../api/app.js';
import { nameProblems } from '../api/rules.js';
import { parseAt } from '../api/validate.js';

export const API_VERSION = 'platform.aerogrid.io/v1alpha1';

export interface PushOptions {
  runtime?: string;
  public?: boolean;
}

export interface AppManifest {
  apiVersion: typeof API_VERSION;
  kind: 'App';
  metadata: { name: string; namespace: string };
  spec: { files: AppFile[]; runtime?: string; access?: { public: true } };
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** The App's name: --name, or the folder's name when that is already a valid one. */
export function appName(dir: string, name: string | undefined): string {
  const chosen = name ?? basename(resolve(dir));
  const problems = nameProblems('an App', chosen, APP_NAME_MAX, 'so that its build Job and image names stay valid');
  if (problems.length === 0) return chosen;
  const from = name === undefined ? ` (taken from the folder name; pass --name)` : ' (--name)';
  throw new ManifestError(problems.map((p) => `${p.replace(/^metadata\.name: /, `app name ${JSON.stringify(chosen)}${from}: `)}`));
}

/**
 * The namespace is filled in once the cluster's context is known.
 * Only what the developer said goes in the patch: with server-side apply, a field the CLI
 * stops sending goes back to its default (say, --public dropped on the next push).
 */
export function appManifest(name: string, files: AppFile[], opts: PushOptions): AppManifest {
  const spec: AppManifest['spec'] = { files };
  if (opts.runtime !== undefined) spec.runtime = opts.runtime;
  if (opts.public) spec.access = { public: true };
  const app: AppManifest = { apiVersion: API_VERSION, kind: 'App', metadata: { name, namespace: '' }, spec };
  validate(app);
  return app;
}

/** Problems as the developer knows them: by file, not by spec.files[3]. */
export function validate(app: AppManifest): void {
  if (app.spec.runtime !== undefined && !(RUNTIMES as readonly string[]).includes(app.spec.runtime)) {
    throw new ManifestError([`--runtime ${app.spec.runtime}: not a runtime aerogrid offers; use one of ${RUNTIMES.join(', ')}`]);
  }
  const parsed = parseAt(AppSpec, app.spec, 'spec');
  if (parsed.ok) return;
  throw new ManifestError(parsed.problems.map((p) => {
    const m = /^spec\.files\[(\d+)\](\.\w+)?: (.*)$/.exec(p);
    if (!m) return p;
    const file = app.spec.files[Number(m[1])];
    return file ? `${file.path}: ${m[3]}` : p;
  }));
}
