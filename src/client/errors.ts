// What goes wrong when talking to the cluster, as typed values: the CLI and the console each
// turn a ClientError into their own words, and never see a raw HTTP or socket error.
import { ApiException } from '@kubernetes/client-node';

export type ClientErrorKind =
  /** No kubeconfig, an unreadable one, or no such context. */
  | 'config'
  /** The API server does not serve platform.aerogrid.io: aerogrid is not installed there. */
  | 'missingApi'
  | 'notFound'
  /** 401: the server does not accept the credentials. */
  | 'unauthorized'
  /** 403: RBAC (or admission) said no. */
  | 'forbidden'
  /** 409: a server-side apply conflict (see `managers` and `fields`) or a stale resourceVersion. */
  | 'conflict'
  /** 422: the schema or a CEL rule refused the object (see `fields`). */
  | 'invalid'
  /** No connection: refused, unknown host, reset, TLS failure. */
  | 'unreachable'
  /** The request got no complete answer within its timeout. */
  | 'timeout'
  /** Anything else the server answered (5xx, 410 outside a watch, ...). */
  | 'server';

export interface FieldProblem {
  /** The field as the API server names it, e.g. `spec.files[0].path`. */
  path: string;
  message: string;
}

export class ClientError extends Error {
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
    readonly details: {
      /** What was being done, e.g. `apply App shop`. */
      doing?: string;
      status?: number;
      fields?: FieldProblem[];
      /** For a conflict: the field managers that own the contested fields. */
      managers?: string[];
      server?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message);
    this.name = 'ClientError';
  }

  get fields(): FieldProblem[] {
    return this.details.fields ?? [];
  }

  get managers(): string[] {
    return this.details.managers ?? [];
  }
}

type Obj = Record<string, any>;

function safeJson(s: string): Obj | undefined {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** The body of an API error: a Status object, which the client may hand over as text. */
export function statusOf(err: ApiException<unknown>): Obj {
  const body = err.body;
  if (typeof body === 'string') return safeJson(body) ?? { message: body };
  return (body as Obj | undefined) ?? {};
}

/** A 404 from discovery, or from a path the API server does not serve: no such API. */
export function isMissingApi(err: unknown): boolean {
  if (err instanceof ApiException) {
    // Discovery failed: missing only when it says so (a 401 or 403 there is about the caller).
    if (err.message.startsWith('Failed to fetch resource metadata')) return err.code === 404;
    // A missing resource type gets a bare "404 page not found"; a missing object gets a Status naming it.
    return err.code === 404 && !statusOf(err).details?.name;
  }
  return err instanceof Error && err.message.startsWith('Unrecognized API version and kind');
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN']);

/** Classifies whatever a request threw. `server` is the API server's URL, for messages. */
export function classify(err: unknown, doing: string, server: string): ClientError {
  if (err instanceof ClientError) return err;
  if (err instanceof ApiException) {
    const body = statusOf(err);
    const message: string = body.message ?? err.message;
    const causes: Obj[] = body.details?.causes ?? [];
    const base = { doing, status: err.code, server, cause: err };
    if (isMissingApi(err)) return new ClientError('missingApi', message, base);
    switch (err.code) {
      case 401:
        return new ClientError('unauthorized', message, base);
      case 403:
        return new ClientError('forbidden', message, base);
      case 404:
        return new ClientError('notFound', message, base);
      case 409: {
        const managers = [...new Set(causes.map((c) => /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1]).filter((m): m is string => !!m))];
        return new ClientError('conflict', message, { ...base, managers, fields: causes.filter((c) => c.field).map((c) => ({ path: c.field, message: c.message ?? '' })) });
      }
      case 422:
        return new ClientError('invalid', message, { ...base, fields: causes.map((c) => ({ path: c.field ?? '', message: c.message ?? '' })) });
      default:
        return new ClientError('server', `${message} (HTTP ${err.code})`, base);
    }
  }
  const e = err as Error & { code?: string; type?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.type === 'aborted') {
    return new ClientError('timeout', `no answer from ${server} in time`, { doing, server, cause: err });
  }
  const code = e?.cause?.code ?? e?.code;
  const text = `${e?.message ?? ''} ${e?.cause?.message ?? ''}`.trim();
  if ((code && NETWORK_CODES.has(code)) || /fetch failed|ECONNREFUSED|ENOTFOUND|socket hang up/.test(text)) {
    return new ClientError('unreachable', `${code ?? 'connection failed'}`, { doing, server, cause: err });
  }
  if (code === 'ETIMEDOUT') return new ClientError('timeout', `connecting to ${server} timed out`, { doing, server, cause: err });
  if (/certificate|self[- ]signed|SSL|TLS/i.test(text)) {
    return new ClientError('unreachable', `TLS failed (${text})`, { doing, server, cause: err });
  }
  return new ClientError('server', text || String(err), { doing, server, cause: err });
}
