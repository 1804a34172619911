// zod → the structural OpenAPI v3 subset that the API server accepts in a CRD.
import { z } from 'zod';

export type JSONSchemaProps = { [key: string]: unknown };

const FORBIDDEN = ['$ref', 'oneOf', 'anyOf', 'allOf', 'not', '$defs', 'definitions', 'nullable', 'const'] as const;

/**
 * Generates the schema and checks that it is structural: every node typed, no
 * constructs the API server rejects. Throws naming the path of the first offence,
 * so a schema change that would break the XRD fails `make build`, not the cluster.
 */
export function toStructural(schema: z.ZodType): JSONSchemaProps {
  const generated = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'throw',
    reused: 'inline',
    cycles: 'throw',
  }) as JSONSchemaProps;
  return clean(generated, '');
}

function clean(node: JSONSchemaProps, path: string): JSONSchemaProps {
  for (const key of FORBIDDEN) {
    if (key in node) throw new Error(`schema at '${path || '.'}' uses '${key}', which a structural CRD schema cannot`);
  }
  if (typeof node.type !== 'string') throw new Error(`schema at '${path || '.'}' has no type`);
  const out: JSONSchemaProps = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || (key === 'additionalProperties' && value === false)) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JSONSchemaProps>).map(([k, v]) => [k, clean(v, `${path}.${k}`)]),
      );
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = clean(value as JSONSchemaProps, `${path}[]`);
    } else {
      out[key] = value;
    }
  }
  return out;
}
