// One composite API (Tenant or App) as a construct: its XRD and its Composition,
// in the Crossplane v2 flavour or the legacy 1.17–1.20 flavour, from the same props.
import { Construct } from 'constructs';
import { z } from 'zod';
import { toStructural } from '../api/openapi.js';
import { INPUT_GROUP, INPUT_KIND, INPUT_VERSION, type PlatformSettings } from '../api/platform.js';
import { GROUP } from '../functions/resources.js';
import { Composition, CompositeResourceDefinition, type PrinterColumn } from './crossplane.js';

export const VERSION = 'v1alpha1';

export type Flavour = 'v2' | 'legacy';

export interface CompositeApiProps {
  /** The v2 kind (Tenant, App). The legacy XR kind is X<kind>. */
  kind: string;
  plural: string;
  /** v2 scope. In the legacy flavour every XR is cluster-scoped and a Namespaced API gets a claim. */
  scope: 'Cluster' | 'Namespaced';
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
  flavour: Flavour;
  settings: PlatformSettings;
  functionName: string;
}

export class CompositeApi extends Construct {
  readonly xrdName: string;

  constructor(scope: Construct, id: string, props: CompositeApiProps) {
    super(scope, id);
    const legacy = props.flavour === 'legacy';
    const kind = legacy ? `X${props.kind}` : props.kind;
    const plural = legacy ? `x${props.plural}` : props.plural;
    this.xrdName = `${plural}.${GROUP}`;

    const schema = {
      type: 'object',
      description: props.description,
      properties: { spec: toStructural(props.spec), status: toStructural(props.status) },
      required: ['spec'],
    };
    new CompositeResourceDefinition(this, 'definition', {
      apiVersion: legacy ? 'v1' : 'v2',
      name: this.xrdName,
      spec: {
        group: GROUP,
        names: { kind, plural, categories: ['aerogrid'] },
        ...(legacy
          ? props.scope === 'Namespaced' ? { claimNames: { kind: props.kind, plural: props.plural, categories: ['aerogrid'] } } : {}
          : { scope: props.scope }),
        defaultCompositionRef: { name: this.xrdName },
        versions: [{
          name: VERSION,
          served: true,
          referenceable: true,
          additionalPrinterColumns: props.printerColumns,
          schema: { openAPIV3Schema: schema },
        }],
      },
    });
    new Composition(this, 'composition', {
      name: this.xrdName,
      labels: { 'platform.aerogrid.io/flavour': props.flavour },
      compositeTypeRef: { apiVersion: `${GROUP}/${VERSION}`, kind },
      pipeline: [{
        step: 'render',
        functionRef: { name: props.functionName },
        input: { apiVersion: `${INPUT_GROUP}/${INPUT_VERSION}`, kind: INPUT_KIND, ...props.settings },
      }],
    });
  }
}
