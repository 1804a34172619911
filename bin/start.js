// How aerogrid's commands start. In a checkout of the repository the TypeScript sources run
// through tsx; the npm package carries no sources, and runs the JavaScript that `npm pack`
// compiled into lib/ (tsconfig.package.json).
import { existsSync } from 'node:fs';

/** Runs src/<entry>.ts, or lib/src/<entry>.js where there are no sources. */
export async function start(entry) {
  const source = new URL(`../src/${entry}.ts`, import.meta.url);
  if (existsSync(source)) {
    const { register } = await import('tsx/esm/api');
    register();
    await import(source.href);
  } else {
    await import(new URL(`../lib/src/${entry}.js`, import.meta.url).href);
  }
}
