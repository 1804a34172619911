// The local control plane's start (scripts/lib/controlplane.ts), with real etcd and kube-apiserver:
// when the API server's port is taken between choosing it and binding it, it starts on another;
// when it cannot start at all, the error says why and nothing it started is left running. CI once
// failed this way: kube-apiserver's "bind: address already in use", and an etcd left behind kept
// jest from exiting until CI's time ran out.
import { jest } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type * as Net from '../scripts/lib/net.js';

// Ports the next freePort calls for an explicit host (only the API server's is chosen that way) return.
const taken: number[] = [];
const real = await import('../scripts/lib/net.js');
jest.unstable_mockModule('../scripts/lib/net.js', (): typeof Net => ({
  ...real,
  freePort: async (host?: string) => (host !== undefined && taken.length ? taken.shift()! : real.freePort(host)),
}));
const { startControlPlane } = await import('../scripts/lib/controlplane.js');

const holders: Server[] = [];
/** A port some other process holds on 127.0.0.1, as kube-apiserver finds it. */
async function holdPort(): Promise<number> {
  const s = createServer();
  holders.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

/** The etcd and kube-apiserver processes running now, by pid. */
function controlPlaneProcesses(): string[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return /(^|\/)(etcd|kube-apiserver)$/.test(cmd[0]) ? [`${pid} ${cmd.join(' ').slice(0, 160)}`] : [];
    } catch {
      return [];
    }
  });
}

afterAll(() => holders.forEach((s) => s.close()));

test('a port taken before kube-apiserver binds it: the API server starts on another', async () => {
  const held = await holdPort();
  taken.push(held);
  const cp = await startControlPlane();
  try {
    const server = /server: "https:\/\/127\.0\.0\.1:(\d+)"/.exec(readFileSync(cp.kubeconfig, 'utf8'))![1];
    expect(Number(server)).not.toBe(held);
    expect(taken).toEqual([]);
    const ready = cp.kubectl('get', '--raw', '/readyz');
    expect(ready).toMatchObject({ status: 0, stdout: 'ok' });
  } finally {
    await cp.stop();
  }
}, 180_000);

test('three ports taken: a start that fails says why, and leaves no etcd or API server running', async () => {
  const before = controlPlaneProcesses();
  taken.push(await holdPort(), await holdPort(), await holdPort());
  await expect(startControlPlane()).rejects.toThrow(/kube-apiserver exited:[\s\S]*bind: address already in use/);
  expect(taken).toEqual([]);
  expect(controlPlaneProcesses()).toEqual(before);
}, 180_000);
