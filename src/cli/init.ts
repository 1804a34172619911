// `aerogrid init [DIR]`: the smallest app aerogrid builds and serves: an HTTP server on
// $PORT (8080, the App's default port) using only Python's standard library.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT } from './errors.js';
import { SCAFFOLD } from '../present/scaffold.js';

export { SCAFFOLD };

/** Writes the scaffold; refuses to overwrite anything. Returns the files written. */
export function init(dir: string): string[] {
  const existing = Object.keys(SCAFFOLD).filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0) {
    throw new CliError(`${dir}: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; aerogrid init does not overwrite files`, EXIT.usage);
  }
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(SCAFFOLD)) writeFileSync(join(dir, file), content);
  return Object.keys(SCAFFOLD);
}
