// Client certificate verification for the function's mTLS listener.
//
// Crossplane issues its client certificate from its own CA (`crossplane core init` locally, the
// same code in a cluster) with the CA's subject as its own subject and issuer, the same serial,
// and no key identifiers. OpenSSL, and so Node's TLS, takes such a certificate for self-signed
// and refuses it (DEPTH_ZERO_SELF_SIGNED_CERT) even when the CA is trusted; Go, which Crossplane
// is written in, builds the chain by issuer name and checks the signature, and accepts it.
//
// So the listener asks for a client certificate without letting OpenSSL refuse it, and this
// module decides, as Go's crypto/x509 would for RequireAndVerifyClientCert: a certificate must be
// present, signed by a CA in ca.crt whose subject is its issuer, within its validity dates (and the
// CA within its own), and allowed for client authentication when it lists extended key usages.
// Nothing else is accepted: no certificate, another CA's, an expired one, a server-only one.
import { X509Certificate } from 'node:crypto';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/** The certificates of a PEM bundle (ca.crt may hold more than one CA). */
export function parseCertificates(pem: string | Buffer): X509Certificate[] {
  const blocks = String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * Why the client certificate (DER, as TLSSocket.getPeerCertificate().raw gives it) is refused,
 * or undefined when it is accepted.
 */
export function refusal(raw: Buffer | undefined, cas: readonly X509Certificate[], now = new Date()): string | undefined {
  if (!raw || raw.length === 0) return 'no client certificate (mTLS is required: the client must present a certificate signed by ca.crt)';
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(raw);
  } catch (err) {
    return `unreadable client certificate: ${(err as Error).message}`;
  }
  const who = `client certificate "${cert.subject.replace(/\n/g, ', ')}" (serial ${cert.serialNumber})`;
  const outside = (c: X509Certificate) => now < new Date(c.validFrom) || now > new Date(c.validTo);
  if (outside(cert)) return `${who} is not valid now (valid from ${cert.validFrom} to ${cert.validTo})`;
  const issuer = cas.find((ca) => ca.subject === cert.issuer && ca.ca && cert.verify(ca.publicKey));
  if (!issuer) return `${who} is not signed by a CA in ca.crt (issuer "${cert.issuer.replace(/\n/g, ', ')}")`;
  if (outside(issuer)) return `${who} is signed by a CA that is not valid now (valid from ${issuer.validFrom} to ${issuer.validTo})`;
  const usages = cert.keyUsage; // Node names the extended key usages so
  if (usages && usages.length > 0 && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
    return `${who} is not for client authentication (extended key usages: ${usages.join(', ')})`;
  }
  return undefined;
}
