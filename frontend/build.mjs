// Builds the web app into dist/: the app bundle (app.js), the dashboard's
// charts (charts.js), the service worker (sw.js) and the static files of
// public/ (index.html, app.css, manifest.webmanifest, icon.svg and its PNG
// renderings from scripts/icons.mjs). public/ stays flat: the shell hash below reads the
// top-level files only. The server serves dist/ under /app/.

import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const common = { bundle: true, minify: true, target: ['es2020'], logLevel: 'warning', legalComments: 'none' };

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
// Timestamps kept: cargo's build script watches dist/index.html (to notice
// a deleted dist/), and a fresh timestamp on every build would make every
// cargo command rebuild the server.
cpSync(join(here, 'public'), dist, { recursive: true, preserveTimestamps: true });

await build({
  ...common,
  entryPoints: [join(here, 'src/main.ts')],
  outfile: join(dist, 'app.js'),
  format: 'iife',
  sourcemap: 'linked',
});

// The dashboard's charts: a bundle of their own, loaded by the dashboard
// only (src/charts.ts), so the guests' app.js stays small.
await build({
  ...common,
  entryPoints: [join(here, 'src/charts.ts')],
  outfile: join(dist, 'charts.js'),
  format: 'iife',
  globalName: 'crowdjukeCharts',
  sourcemap: 'linked',
});

// The worker's cache name follows the shell's content, so a new build
// replaces the old cached shell.
const hash = createHash('sha256');
for (const name of readdirSync(dist).sort()) hash.update(name).update(readFileSync(join(dist, name)));
const buildId = hash.digest('hex').slice(0, 12);

await build({
  ...common,
  entryPoints: [join(here, 'src/sw/sw.ts')],
  outfile: join(dist, 'sw.js'),
  format: 'iife',
  define: { BUILD_ID: JSON.stringify(buildId) },
});

console.log(`built dist/ (shell ${buildId})`);
