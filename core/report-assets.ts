/**
 * The chart library inlined into `report.html`: uPlot's IIFE build and its stylesheet.
 *
 * `renderReportHtml` takes these strings as an argument and never reads files itself, so a
 * caller that cannot resolve `node_modules` at run time can inject them. The finish-run Lambda
 * is an esbuild bundle, and it has two ways to get them:
 * - list `uplot` in the NodejsFunction's `bundling.nodeModules`, so the package is installed
 *   beside the bundle and `loadReportAssets()` resolves it. This needs ESM output, because
 *   `import.meta.url` is empty in a CommonJS bundle.
 * - embed both files at build time with
 *   `import chartJs from 'uplot/dist/uPlot.iife.min.js' with { type: 'text' }`, which esbuild 0.28
 *   bundles as a string, and pass them in.
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
    throw new Error(
      `Chart asset ${specifier} not found: install the "uplot" package, or pass the assets to renderReportHtml yourself.`,
      { cause: error },
    );
  }
  return readFile(path, 'utf8');
}
