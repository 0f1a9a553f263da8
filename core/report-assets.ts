/**
 * The chart library inlined into `report.html`: uPlot's IIFE build and its stylesheet.
 *
 * `renderReportHtml` takes these strings as an argument and never reads files itself, so a
 * caller that cannot resolve `node_modules` at run time can inject them. The finish-run Lambda
 * is an ESM esbuild bundle without node_modules: the stack's bundling step copies both
 * files beside the bundle, and `loadReportAssets()` reads them there when the package
 * cannot be resolved.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export interface ReportAssets {
  /** uPlot's `dist/uPlot.iife.min.js`, which defines the global `uPlot`. */
  chartJs: string;
  /** uPlot's `dist/uPlot.min.css`. */
  chartCss: string;
}

export const CHART_JS_MODULE = 'uplot/dist/uPlot.iife.min.js';
export const CHART_CSS_MODULE = 'uplot/dist/uPlot.min.css';

/** Reads uPlot's script and stylesheet from the installed `uplot` package. */
export async function loadReportAssets(): Promise<ReportAssets> {
  const require = createRequire(import.meta.url);
  const [chartJs, chartCss] = await Promise.all([
    readAsset(require, CHART_JS_MODULE),
    readAsset(require, CHART_CSS_MODULE),
  ]);
  return { chartJs, chartCss };
}

async function readAsset(require: NodeJS.Require, specifier: string): Promise<string> {
  let path: string;
  try {
    path = require.resolve(specifier);
  } catch (error) {
    // The Lambda bundle has no node_modules: the stack copies both files beside it.
    const beside = new URL(`./${specifier.slice(specifier.lastIndexOf('/') + 1)}`, import.meta.url);
    const copy = await readFile(beside, 'utf8').catch(() => undefined);
    if (copy !== undefined) return copy;
    throw new Error(
      `Chart asset ${specifier} not found: install the "uplot" package, or pass the assets to renderReportHtml yourself.`,
      { cause: error },
    );
  }
  return readFile(path, 'utf8');
}
