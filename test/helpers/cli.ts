// Runs the aerogrid CLI as a person would, for the end-to-end tests: bin/aerogrid.js in its own
// process, with a kubeconfig (null: none on the command line) and extra environment.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './fixtures.js';

export interface Run { code: number | null; stdout: string; stderr: string }

export function runCli(args: string[], kubeconfig: string | null, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/aerogrid.js'), ...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), ...args], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // A CLI that does not exit is a failure to report, not a test to hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
