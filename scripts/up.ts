// make up / make down: the demo's control plane, left running in the background for a person to
// try the CLI against (the README's CLI section), and stopped again.
//
//   tsx scripts/up.ts start   runs scripts/demo.ts detached with AEROGRID_UP_DIR=out/up, waits
//                             until its control plane is up and the example App went through
//                             the developer's story, then prints what to try;
//   tsx scripts/up.ts stop    stops it (SIGTERM: every process it started ends, its files go).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/net.js';

const DIR = join(ROOT, 'out/up');
const PID = join(DIR, 'demo.pid');
const LOG = join(DIR, 'demo.log');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const running = (): number | undefined => {
  if (!existsSync(PID)) return undefined;
  const pid = Number(readFileSync(PID, 'utf8'));
  return alive(pid) ? pid : undefined;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(): Promise<void> {
  const pid = running();
  if (pid) {
    console.log(`already up (pid ${pid}); make down stops it. What it printed: ${LOG}`);
    return;
  }
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const log = openSync(LOG, 'w');
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'scripts/demo.ts')], {
    cwd: ROOT, detached: true, stdio: ['ignore', log, log], env: { ...process.env, AEROGRID_UP_DIR: DIR },
  });
  closeSync(log);
  writeFileSync(PID, String(child.pid));
  child.unref();
  console.log(`starting the control plane and the demo in the background (pid ${child.pid}; log ${LOG})`);
  const deadline = Date.now() + 30 * 60_000;
  let shown = 0;
  while (Date.now() < deadline) {
    const text = readFileSync(LOG, 'utf8');
    const lines = text.split('\n');
    for (const line of lines.slice(shown, -1)) if (/^\[\s*[\d.]+s\]/.test(line)) console.log(line);
    shown = Math.max(shown, lines.length - 1);
    if (text.includes('] KEEP: ')) {
      console.log(text.slice(text.indexOf('The web console:')).split('\n[')[0].trimEnd());
      return;
    }
    if (!alive(child.pid!)) {
      console.error(`the demo stopped before the control plane was up; its last lines:\n${text.split('\n').slice(-30).join('\n')}`);
      process.exitCode = 1;
      return;
    }
    await sleep(500);
  }
  console.error(`the control plane was not up after 30 minutes; see ${LOG}`);
  process.exitCode = 1;
}

async function stop(): Promise<void> {
  const pid = running();
  if (!pid) {
    console.log('nothing is up');
    return;
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 120 && alive(pid); i++) await sleep(250);
  if (alive(pid)) {
    // Its own children are in its process group (detached): end them all.
    process.kill(-pid, 'SIGKILL');
  }
  rmSync(PID, { force: true });
  console.log(`stopped (pid ${pid})`);
}

const command = process.argv[2];
if (command === 'start') await start();
else if (command === 'stop') await stop();
else {
  console.error('usage: tsx scripts/up.ts start|stop');
  process.exitCode = 2;
}
