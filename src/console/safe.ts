// Two small guards the console and the local identity provider share: text made safe for HTML,
// and secrets compared in constant time.
import { timingSafeEqual } from 'node:crypto';

/** Text as HTML character references, for the few pages written as strings. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Whether two secrets (a password, a CSRF token) are equal, in time that does not depend on where they differ. */
export const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
