// Renders public/icon.svg into the PNG icons phones want (iOS ignores SVG
// icons): icon-192.png and icon-512.png (rounded, transparent corners),
// icon-maskable-512.png (full bleed, the artwork inside the central 80 %
// "safe zone" that Android's masks keep) and apple-touch-icon.png (180×180,
// full bleed and opaque: iOS rounds the corners itself and paints
// transparency black). Run it after changing icon.svg and commit the PNGs:
//
//     node scripts/icons.mjs
//
// Uses Debian's Chromium through the end-to-end tests' playwright-core, so
// the app itself needs no image tooling. CHROMIUM overrides the browser.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const publicDir = join(here, '../public');
const require = createRequire(join(here, '../../tests/e2e/package.json'));
const { chromium } = require('playwright-core');

const svg = readFileSync(join(publicDir, 'icon.svg'), 'utf8');

/** The icon on a square background, its artwork scaled about the centre. */
function fullBleed(scale) {
  const square = svg.replace(/<rect width="512" height="512" rx="\d+"/, '<rect width="512" height="512" rx="0"');
  const open = square.indexOf('>', square.indexOf('<rect')) + 1;
  const close = square.lastIndexOf('</svg>');
  if (square === svg || open <= 0) throw new Error('icon.svg no longer starts with its 512×512 background rect: update icons.mjs');
  return `${square.slice(0, open)}<g transform="translate(256 256) scale(${scale}) translate(-256 -256)">${square.slice(open, close)}</g></svg>`;
}

const icons = [
  { file: 'icon-192.png', size: 192, source: svg, transparent: true },
  { file: 'icon-512.png', size: 512, source: svg, transparent: true },
  // The outer ring reaches 190/256 of the half-width; scaled by 0.8 it sits
  // at 59 %, well inside the maskable safe circle (80 % of the half-width).
  { file: 'icon-maskable-512.png', size: 512, source: fullBleed(0.8), transparent: false },
  { file: 'apple-touch-icon.png', size: 180, source: fullBleed(0.9), transparent: false },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  for (const icon of icons) {
    const page = await browser.newPage({ viewport: { width: icon.size, height: icon.size }, deviceScaleFactor: 1 });
    const src = `data:image/svg+xml;base64,${Buffer.from(icon.source).toString('base64')}`;
    await page.setContent(`<html><body style="margin:0;background:transparent"><img src="${src}" width="${icon.size}" height="${icon.size}" style="display:block"></body></html>`);
    await page.waitForFunction(() => document.images[0].complete && document.images[0].naturalWidth > 0);
    await page.screenshot({ path: join(publicDir, icon.file), omitBackground: icon.transparent });
    await page.close();
    console.log(`wrote public/${icon.file} (${icon.size}×${icon.size})`);
  }
} finally {
  await browser.close();
}
