// Line plots as PNG for bench/RESULTS.md: a Vega-Lite spec compiled by vega-lite, rendered to
// SVG by vega's headless renderer, rasterized by resvg (no browser, no canvas).
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface Series { name: string; points: { x: number; y: number }[] }

/** Writes a line plot of the series to `file` (PNG); x and y carry their axis titles. */
export async function linePlot(file: string, opts: { title: string; x: string; y: string; series: Series[]; width?: number; height?: number }): Promise<void> {
  const values = opts.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y })));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: opts.width ?? 640,
    height: opts.height ?? 280,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.x },
      y: { field: 'y', type: 'quantitative', title: opts.y },
      color: { field: 'series', type: 'nominal', title: null, legend: opts.series.length > 1 ? { orient: 'top-left', labelLimit: 480 } : null },
    },
    config: { font: 'DejaVu Sans' },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
  writeFileSync(file, png);
}
