// The App that `aerogrid push` applies, built from a folder and the flags, and checked
// locally against the very schema the XRD and the function enforce, before any request.
import { basename, resolve } from 'node:path';
import { APP_NAME_MAX, AppSpec, MAX_FILES, problemFile, type AppFile } from '../api/app.js';
import { nameProblems } from '../api/rules.js';
import { parseAt } from '../api/validate.js';
import { IGNORE_FILE } from './source.js';

export const API_VERSION = 'platform.aerogrid.io/v1alpha1';

/** What `aerogrid push` owns of an App's spec (field manager `aerogrid`). */
export interface PushOptions {
  runtime?: string;
  public?: boolean;
  image?: string;
  command?: string[];
  port?: number;
  healthPath?: string;
}

export interface AppManifest {
  apiVersion: typeof API_VERSION;
  kind: 'App';
  metadata: { name: string; namespace: string };
  spec: { files?: AppFile[]; runtime?: string; access?: { public: boolean }; image?: string; command?: string[]; port?: number; healthPath?: string };
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
export function appManifest(name: string, files: AppFile[] | undefined, opts: PushOptions): AppManifest {
  const spec: AppManifest['spec'] = files ? { files } : {};
  if (opts.runtime !== undefined) spec.runtime = opts.runtime;
  if (opts.public !== undefined) spec.access = { public: opts.public };
  if (opts.image !== undefined) spec.image = opts.image;
  if (opts.command !== undefined) spec.command = opts.command;
  if (opts.port !== undefined) spec.port = opts.port;
  if (opts.healthPath !== undefined) spec.healthPath = opts.healthPath;
  const app: AppManifest = { apiVersion: API_VERSION, kind: 'App', metadata: { name, namespace: '' }, spec };
  validate(app);
  return app;
}

/**
 * `--command` as given: a JSON array (`'["gunicorn", "-b", "0.0.0.0:8080", "app:app"]'`), or
 * words split on spaces, where single or double quotes keep spaces inside a word.
 */
export function parseCommand(value: string): string[] {
  if (value.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new ManifestError([`--command ${value}: not a JSON array of strings`]);
    }
    if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string') || parsed.length === 0) throw new ManifestError([`--command ${value}: give a non-empty JSON array of strings`]);
    return parsed;
  }
  const words = [...value.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
  if (words.length === 0) throw new ManifestError(['--command: give the command that starts the app, e.g. --command "gunicorn -b 0.0.0.0:8080 app:app"']);
  return words;
}

/** Problems as the developer knows them: by file, not by spec.files[3]. */
export function validate(app: AppManifest): void {
  const files = app.spec.files ?? [];
  const parsed = parseAt(AppSpec, app.spec, 'spec');
  if (parsed.ok) return;
  throw new ManifestError(parsed.problems.map((p) => {
    if (files.length > MAX_FILES && /^spec\.files: .*at most \d+ files/.test(p)) {
      return `the folder holds ${files.length} files to send; an App takes at most ${MAX_FILES}. List what the build does not need (data, tests, assets) in ${IGNORE_FILE}, or bake it into an image and use --image`;
    }
    const about = problemFile(p, files);
    return about ? `${about.file.path}: ${about.message}` : p;
  }));
}
