// Test PKI made with the real openssl: a CA, a server certificate for 127.0.0.1 and
// localhost, a client certificate, and a second CA with its own client certificate.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  /** Holds tls.crt, tls.key and ca.crt, as the function expects. */
  serverDir: string;
  ca: Buffer;
  client: { cert: Buffer; key: Buffer };
  foreignClient: { cert: Buffer; key: Buffer };
}

export function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** Issues <name>.crt and <name>.key in dir, signed by <ca>.crt. */
export function issue(dir: string, name: string, ca: string, subject: string, ext: string): void {
  openssl(dir, 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
}

/** A self-signed CA, <name>.crt and <name>.key in dir. */
export function authority(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'aerogrid-pki-'));
  authority(dir, 'ca');
  authority(dir, 'other-ca');
  issue(dir, 'server', 'ca', '/CN=aerogrid-function', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue(dir, 'client', 'ca', '/CN=crossplane', 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'foreign', 'other-ca', '/CN=intruder', 'extendedKeyUsage=clientAuth\n');
  const serverDir = mkdtempSync(join(tmpdir(), 'aerogrid-tls-'));
  writeFileSync(join(serverDir, 'tls.crt'), readFileSync(join(dir, 'server.crt')));
  writeFileSync(join(serverDir, 'tls.key'), readFileSync(join(dir, 'server.key')));
  writeFileSync(join(serverDir, 'ca.crt'), readFileSync(join(dir, 'ca.crt')));
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    serverDir,
    ca: read('ca.crt'),
    client: { cert: read('client.crt'), key: read('client.key') },
    foreignClient: { cert: read('foreign.crt'), key: read('foreign.key') },
  };
}
