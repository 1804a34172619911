// Plain data in, plain data out: the shapes every renderer speaks.
import type { V1LimitRangeItem, V1LimitRangeSpec, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer, V1NetworkPolicySpec } from '@kubernetes/client-node';
import type { PlatformSettings } from '../../api/platform.js';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
};

export const GROUP = 'platform.aerogrid.io';
export const LABEL_TENANT = `${GROUP}/tenant`;
export const LABEL_APP = `${GROUP}/app`;
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
/** The component label of an App's own pods (its Deployment's), which its build pods do not carry. */
export const SERVER_COMPONENT = 'server';
export const MANAGED_BY = 'aerogrid';

/** A resource selector, as Crossplane's required resources take it. */
export type Selector = { apiVersion: string; kind: string; namespace?: string } & (
  | { matchName: string }
  | { matchLabels: Record<string, string> }
);

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export type Severity = 'Normal' | 'Warning' | 'Fatal';

export interface RenderInput {
  /** The observed composite resource (Tenant, XTenant, App or XApp). */
  composite: KubeObject;
  /** Observed composed resources, keyed by composition resource name. */
  observed: Record<string, KubeObject>;
  /** Required resources Crossplane fetched for us, by requirement key. Absent key: not fetched yet. */
  required: Record<string, KubeObject[]>;
  settings: PlatformSettings;
}

export interface Desired {
  resource: KubeObject;
  ready: boolean;
}

export interface RenderOutput {
  resources: Record<string, Desired>;
  /** The composite's status fields this function owns. */
  status: Record<string, unknown>;
  conditions: Condition[];
  results: { severity: Severity; message: string }[];
  requirements: Record<string, Selector>;
  /** How long Crossplane may wait before calling again with nothing changed; unset: RESPONSE_TTL_SECONDS. */
  ttlSeconds?: number;
}

/** A render that must not be applied: Crossplane keeps what already runs and reports the message. */
export class FatalError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    // Bad input is an expected outcome, not a fault: capturing a stack trace nobody reads cost
    // more than the rest of answering an XR aerogrid does not compose.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(problems.join('; '));
    Error.stackTraceLimit = limit;
    this.problems = problems;
  }
}

export function emptyOutput(): RenderOutput {
  return { resources: {}, status: {}, conditions: [], results: [], requirements: {} };
}

/** Looks up a required resource: undefined while Crossplane has not fetched it, null when it does not exist. */
export function requiredOne(input: RenderInput, key: string): KubeObject | null | undefined {
  const items = input.required[key];
  if (items === undefined) return undefined;
  return items[0] ?? null;
}

export function conditionOf(obj: KubeObject | undefined, type: string): { status?: string; reason?: string; message?: string } | undefined {
  const conditions = (obj?.status as { conditions?: unknown } | undefined)?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c) => c && typeof c === 'object' && (c as { type?: unknown }).type === type);
}

export function statusOf(obj: KubeObject | undefined): Record<string, unknown> {
  const s = obj?.status;
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, unknown>) : {};
}

/**
 * A plain Kubernetes object, typed by its client-node model (the generated cdk8s
 * converters cost ~25 µs an object; a render makes dozens). It must hold no undefined
 * value: the protobuf Struct has no encoding for one.
 */
export function kube<T extends object>(apiVersion: string, kind: string, body: T): KubeObject {
  return { apiVersion, kind, ...body } as KubeObject;
}

// client-node's models rename the JSON fields that are reserved words (`default` is `_default`,
// `from` is `_from`) and map them back in their own serializer. Plain objects need the JSON names.
export type LimitRangeItem = Omit<V1LimitRangeItem, '_default'> & { default?: Record<string, string> };
export type LimitRangeSpec = Omit<V1LimitRangeSpec, 'limits'> & { limits: LimitRangeItem[] };
export type IngressRule = Omit<V1NetworkPolicyIngressRule, '_from'> & { from?: V1NetworkPolicyPeer[] };
export type NetworkPolicySpec = Omit<V1NetworkPolicySpec, 'ingress'> & { ingress?: IngressRule[] };

export function commonLabels(extra: Record<string, string>): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY, ...extra };
}
