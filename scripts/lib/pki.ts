// Test PKI made with the real openssl: a CA, a server certificate for 127.0.0.1 and
// localhost, a client certificate, and a second CA with its own client certificate. Besides:
// a CA and client certificate shaped as `crossplane core init` makes them (one subject for both,
// the CA's serial, no key identifiers), both CAs in the server's ca.crt; an expired client
// certificate, and one for servers only.
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
  /** Signed by a CA with the same subject, serial and no key identifiers, as Crossplane issues them. */
  crossplaneShapedClient: { cert: Buffer; key: Buffer };
  expiredClient: { cert: Buffer; key: Buffer };
  serverOnlyClient: { cert: Buffer; key: Buffer };
}

export function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** Issues <name>.crt and <name>.key in dir, signed by <ca>.crt (for `days` days; -1 is expired). */
export function issue(dir: string, name: string, ca: string, subject: string, ext: string, ...x509: string[]): void {
  openssl(dir, 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-days', '2', ...(x509.length ? x509 : ['-CAcreateserial']), '-out', `${name}.crt`, '-extfile', `${name}.ext`);
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
  issue(dir, 'expired', 'ca', '/CN=crossplane', 'extendedKeyUsage=clientAuth\n', '-CAcreateserial', '-days', '-1');
  issue(dir, 'server-only', 'ca', '/CN=crossplane', 'extendedKeyUsage=serverAuth\n');
  // As `crossplane core init` makes them: CA and client share the subject and the serial, and
  // neither carries key identifiers. OpenSSL takes the client certificate for self-signed.
  const crossplane = '/ST=Earth/L=Earth/O=Crossplane/OU=Crossplane/CN=Crossplane'; // core init's C=Earth is longer than OpenSSL allows
  const noKeyIds = 'subjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n';
  writeFileSync(join(dir, 'crossplane-ca.cnf'), `[req]\ndistinguished_name=dn\nx509_extensions=v3\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,digitalSignature\n${noKeyIds}`);
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'crossplane-ca.key', '-out', 'crossplane-ca.crt',
    '-days', '2', '-subj', crossplane, '-set_serial', '1', '-config', 'crossplane-ca.cnf');
  issue(dir, 'crossplane-client', 'crossplane-ca', crossplane, `extendedKeyUsage=clientAuth,serverAuth\n${noKeyIds}`, '-set_serial', '1');
  const serverDir = mkdtempSync(join(tmpdir(), 'aerogrid-tls-'));
  writeFileSync(join(serverDir, 'tls.crt'), readFileSync(join(dir, 'server.crt')));
  writeFileSync(join(serverDir, 'tls.key'), readFileSync(join(dir, 'server.key')));
  writeFileSync(join(serverDir, 'ca.crt'), Buffer.concat([readFileSync(join(dir, 'ca.crt')), readFileSync(join(dir, 'crossplane-ca.crt'))]));
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    serverDir,
    ca: read('ca.crt'),
    client: { cert: read('client.crt'), key: read('client.key') },
    foreignClient: { cert: read('foreign.crt'), key: read('foreign.key') },
    crossplaneShapedClient: { cert: read('crossplane-client.crt'), key: read('crossplane-client.key') },
    expiredClient: { cert: read('expired.crt'), key: read('expired.key') },
    serverOnlyClient: { cert: read('server-only.crt'), key: read('server-only.key') },
  };
}
