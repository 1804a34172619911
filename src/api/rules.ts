// One validation rule, written once, enforced in two places: the API server
// evaluates `cel` at admission (it lands in the XRD as x-kubernetes-validations),
// and the function evaluates `holds` on every RunFunction, so an XR that
// reached the function some other way (an older XRD, a legacy claim) gets the
// same verdict with the same message.
import { z } from 'zod';

export interface Rule<T> {
  /** CEL expression, evaluated by the API server with `self` bound to the value. */
  cel: string;
  /** Names the field and says what is allowed. Shown verbatim by kubectl and in FATAL results. */
  message: string;
  /** Where the API server reports the failure, relative to the value (e.g. `.files`). */
  fieldPath?: string;
  /** The message with the value's own words in it: a CEL expression for the API server, and the same in TypeScript. */
  messageExpression?: { cel: string; of: (value: T) => string };
  /** The same rule in TypeScript, for the function's runtime validation. */
  holds: (value: T) => boolean;
}

/** Attaches rules to a schema and documents it, in one step. */
export function ruled<S extends z.ZodType>(schema: S, description: string, rules: Rule<z.output<S>>[]): S {
  const checked = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (!r.holds(value)) {
        ctx.addIssue({ code: 'custom', message: r.messageExpression?.of(value) ?? r.message, path: fieldPathSegments(r.fieldPath) });
      }
    }
  });
  return checked.meta({
    description,
    'x-kubernetes-validations': rules.map((r) => ({
      rule: r.cel,
      message: r.message,
      ...(r.messageExpression ? { messageExpression: r.messageExpression.cel } : {}),
      ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
    })),
  }) as S;
}

/** `.files` → ['files']; the API server's fieldPath syntax is a JSON path relative to the value. */
function fieldPathSegments(fieldPath: string | undefined): string[] {
  return fieldPath ? fieldPath.split('.').filter(Boolean) : [];
}

/** A Kubernetes resource quantity, e.g. `500m`, `1Gi`, `2`. Same grammar the API server accepts. */
export const QUANTITY_PATTERN = '^[+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|([eE][-+]?[0-9]+))?$';

export function quantity(field: string, description: string) {
  return patterned(field, QUANTITY_PATTERN, 'a Kubernetes quantity such as 500m, 2, 512Mi or 1Gi', description, 32);
}

/**
 * A string that must match an RE2-compatible pattern. The pattern is checked by
 * CEL's `matches` at admission (so the message names the field, which an OpenAPI
 * `pattern` failure does not) and by the same RegExp in the function.
 */
export function patterned(field: string, pattern: string, allowed: string, description: string, maxLength: number) {
  const re = new RegExp(pattern);
  return ruled(z.string().max(maxLength, { message: `${field} must be at most ${maxLength} characters` }), description, [
    { cel: `self.matches(r'${pattern}')`, message: `${field} must be ${allowed}`, holds: (v) => re.test(v) },
  ]);
}

/** A lowercase RFC 1123 label of at most `max` characters. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export function dnsLabel(field: string, max: number, description: string) {
  return patterned(
    field,
    DNS_LABEL_PATTERN,
    `a lowercase RFC 1123 label of at most ${max} characters (a-z, 0-9 and '-', starting and ending with a letter or digit)`,
    description,
    max,
  );
}

/** A non-empty list of OIDC group names, as they appear in the token's groups claim. */
export function groupList(field: string, description: string) {
  return z
    .array(patterned(`${field}[]`, '^[^*\\s]+$', 'a group name without spaces or wildcards', 'A group, as the groups claim carries it.', 256))
    .min(1, { message: `${field} must list at least one group` })
    .max(32)
    .refine((groups) => new Set(groups).size === groups.length, { message: `${field} must not repeat a group` })
    .meta({ description, 'x-kubernetes-list-type': 'set' });
}

/**
 * metadata.name rules the XRD cannot express (Crossplane copies only spec and status
 * validations into the CRD it generates), checked by the function instead.
 */
export function nameProblems(kindWithArticle: string, name: string, max: number, why: string): string[] {
  if (name.length > max) return [`metadata.name: ${kindWithArticle} name must be at most ${max} characters, ${why}`];
  if (!new RegExp(DNS_LABEL_PATTERN).test(name)) {
    return [`metadata.name: ${kindWithArticle} name must be a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit)`];
  }
  return [];
}
