// One composite API (Tenant or App) as a construct: its XRD and its Composition,
// in the Crossplane v2 flavour or the legacy flavour (v1 XRDs with claims), from the same
// props, typed by the bindings `cdk8s import` generated from Crossplane's own CRDs.
import { Construct } from 'constructs';
import { z } from 'zod';
import { toStructural, type JSONSchemaProps } from '../api/openapi.js';
import { INPUT_GROUP, INPUT_KIND, INPUT_VERSION, type PlatformSettings } from '../api/platform.js';
import { GROUP } from '../functions/render/resources.js';
import {
  Composition, CompositionSpecMode, CompositeResourceDefinition, CompositeResourceDefinitionV2, CompositeResourceDefinitionV2SpecScope,
  type CompositeResourceDefinitionV2SpecVersionsAdditionalPrinterColumns as PrinterColumn,
} from '../../imports/apiextensions.crossplane.io.js';

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
  /** What the platform settings add to the spec's schema (the App's offered runtimes). */
  offer?: (spec: JSONSchemaProps) => JSONSchemaProps;
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
      properties: { spec: (props.offer ?? ((x) => x))(toStructural(props.spec)), status: toStructural(props.status) },
      required: ['spec'],
    };
    const metadata = { name: this.xrdName };
    const names = { kind, plural, categories: ['aerogrid'] };
    const versions = [{
      name: VERSION,
      served: true,
      referenceable: true,
      additionalPrinterColumns: props.printerColumns,
      schema: { openApiv3Schema: schema },
    }];
    const defaultCompositionRef = { name: this.xrdName };
    if (legacy) {
      new CompositeResourceDefinition(this, 'definition', {
        metadata,
        spec: {
          group: GROUP,
          names,
          ...(props.scope === 'Namespaced' ? { claimNames: { kind: props.kind, plural: props.plural, categories: ['aerogrid'] } } : {}),
          defaultCompositionRef,
          versions,
        },
      });
    } else {
      new CompositeResourceDefinitionV2(this, 'definition', {
        metadata,
        spec: {
          group: GROUP,
          names,
          scope: props.scope === 'Namespaced' ? CompositeResourceDefinitionV2SpecScope.NAMESPACED : CompositeResourceDefinitionV2SpecScope.CLUSTER,
          defaultCompositionRef,
          versions,
        },
      });
    }
    new Composition(this, 'composition', {
      metadata: { name: this.xrdName, labels: { 'platform.aerogrid.io/flavour': props.flavour } },
      spec: {
        compositeTypeRef: { apiVersion: `${GROUP}/${VERSION}`, kind },
        mode: CompositionSpecMode.PIPELINE,
        pipeline: [{
          step: 'render',
          functionRef: { name: props.functionName },
          input: { apiVersion: `${INPUT_GROUP}/${INPUT_VERSION}`, kind: INPUT_KIND, ...props.settings },
        }],
      },
    });
  }
}
