// The dashboard's charts (Chart.js 4), a bundle of their own (dist/charts.js,
// see build.mjs): guests on their phones never download it, the dashboard
// loads it when it opens (views/venue_dashboard.ts). Only the parts the
// dashboard draws are registered, so the rest of Chart.js is left out.
// Built as an IIFE whose exports land on `window.crowdjukeCharts`.

import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);

export { Chart };
