// Reads an app's folder into the files of an App: honours .aerogridignore (gitignore
// syntax, through the `ignore` package) and skips what never belongs in a build context:
// hidden files and folders (.git, .venv, .env), __pycache__, compiled Python, node_modules
// and any folder that is a Python virtualenv (it holds pyvenv.cfg), whatever its name.
import { lstatSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import type { AppFile } from '../api/app.js';

export const IGNORE_FILE = '.aerogridignore';

/** Always skipped; .aerogridignore adds to these (and may re-include with `!`, except hidden files). */
export const DEFAULT_IGNORES = ['.*', '__pycache__/', '*.py[cod]', 'node_modules/', '*.egg-info/'];

export class SourceError extends Error {}

export interface Source {
  files: AppFile[];
  /** What was left out, and why, for `push --verbose` and the tests. */
  skipped: { path: string; why: string }[];
}

export function readSource(dir: string): Source {
  if (!existsSync(dir)) throw new SourceError(`${dir}: no such folder`);
  if (!lstatSync(dir).isDirectory()) throw new SourceError(`${dir}: not a folder; aerogrid push takes the folder that holds app.py`);
  const rules: Ignore = ignore().add(DEFAULT_IGNORES);
  const ignoreFile = join(dir, IGNORE_FILE);
  if (existsSync(ignoreFile)) rules.add(readFileSync(ignoreFile, 'utf8'));

  const files: AppFile[] = [];
  const skipped: Source['skipped'] = [];
  const walk = (rel: string) => {
    const entries = readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = rel ? posix.join(rel, entry.name) : entry.name;
      const full = join(dir, path);
      if (entry.isDirectory()) {
        if (rules.ignores(`${path}/`)) {
          skipped.push({ path: `${path}/`, why: 'ignored' });
        } else if (existsSync(join(full, 'pyvenv.cfg'))) {
          skipped.push({ path: `${path}/`, why: 'a Python virtualenv' });
        } else {
          walk(path);
        }
        continue;
      }
      if (rules.ignores(path)) {
        skipped.push({ path, why: 'ignored' });
        continue;
      }
      if (entry.isSymbolicLink()) {
        throw new SourceError(`${path}: is a symbolic link; aerogrid sends the files themselves. Copy it in, or add it to ${IGNORE_FILE}`);
      }
      if (!entry.isFile()) {
        skipped.push({ path, why: 'not a regular file' });
        continue;
      }
      const bytes = readFileSync(full);
      let content: string;
      try {
        content = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new SourceError(`${path}: is not UTF-8 text; an App carries source files only. Add it to ${IGNORE_FILE}, or bake it into an image and use spec.image`);
      }
      // Valid UTF-8 may still be binary: NUL bytes never occur in source text (a PNG has them).
      if (content.includes('\u0000')) {
        throw new SourceError(`${path}: is binary (it holds NUL bytes); an App carries source files only. Add it to ${IGNORE_FILE}, or bake it into an image and use spec.image`);
      }
      files.push({ path, content });
    }
  };
  walk('');
  if (files.length === 0) throw new SourceError(`${dir}: no files to push (after ${IGNORE_FILE} and the default ignores)`);
  return { files, skipped };
}
