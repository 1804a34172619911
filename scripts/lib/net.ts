// Small helpers shared by the tests, the demo and the benchmark.
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** Every port freePort has handed out in this process: a port is released before its user binds it. */
const handedOut = new Set<number>();

/**
 * A port free on `host` now, and never one this process was given before: ports chosen together
 * (etcd's, the API server's) cannot coincide. Another process may still take it before it is
 * bound; whoever binds it late retries (startControlPlane does).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const s = createServer();
      s.once('error', rej);
      s.listen(0, host, () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
