// A venue's dashboard (`/venues/{id}/dashboard`) for its owner and
// managers: what played, what was skipped, what guests asked for and when
// they came, over a range of local days (`GET /api/venues/{id}/analytics`),
// for the whole venue or one zone. Totals as tiles, three charts (Chart.js,
// loaded with the page: see src/charts.ts), the top tracks and artists as
// tables, and every table as a CSV file (fetched with the account token,
// then saved from a Blob).

import type { Chart as ChartType, ChartConfiguration } from 'chart.js';
import { analyticsCsv, ApiError, getAnalytics, getVenue } from '../api';
import { h, setText } from '../dom';
import { createNotice, inlineStatus } from '../notice';
import type { Analytics, AnalyticsName, AnalyticsRange, AnalyticsTable, AnalyticsTrack, VenueAnswer } from '../types';
import { accountGate, type Account } from './account';
import { can, ROLE_NAMES, venueProblem } from './venue_context';
import type { Navigate } from './view';

type ChartsModule = typeof import('../charts');

let chartsLoading: Promise<ChartsModule> | null = null;

/** Chart.js, from its own bundle (dist/charts.js), loaded once per page. */
function loadCharts(): Promise<ChartsModule> {
  const global = window as unknown as { crowdjukeCharts?: ChartsModule };
  if (global.crowdjukeCharts) return Promise.resolve(global.crowdjukeCharts);
  chartsLoading ??= new Promise<ChartsModule>((ok, fail) => {
    const script = h('script', { src: '/app/charts.js', async: true });
    script.addEventListener('load', () => (global.crowdjukeCharts ? ok(global.crowdjukeCharts) : fail(new Error('charts.js defined nothing'))));
    script.addEventListener('error', () => {
      chartsLoading = null; // a later page may try again
      script.remove();
      fail(new Error('charts.js did not load'));
    });
    document.head.append(script);
  });
  return chartsLoading;
}

const TABLE_NAMES: Record<AnalyticsTable, string> = {
  days: 'the days',
  hours: 'the hours of the day',
  tracks: 'the tracks',
  artists: 'the artists',
  genres: 'the genres',
};

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
/** A day of the report (`YYYY-MM-DD`, a local date of the venue) as "6 Nov". */
const shortDay = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
const longDay = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const asDate = (day: string) => new Date(`${day}T00:00:00Z`);

const percent = (rate: number) => `${number.format(rate * 100)} %`;

/** "–" without guests, "< 1 min", "12 min". */
function stay(ms: number, guests: number): string {
  if (guests === 0) return '–';
  if (ms < 60_000) return '< 1 min';
  return `${Math.round(ms / 60_000)} min`;
}

/** Colours of the app's palette (app.css), for the charts. */
function palette(): { text: string; grid: string; accent: string; link: string; ok: string } {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return { text: v('--muted', '#b7bdc8'), grid: v('--border', '#3a4050'), accent: v('--accent', '#ffb547'), link: v('--link', '#9fd0ff'), ok: v('--ok', '#86e3ad') };
}

/** Plays without an artist or a genre still count, under a label. */
const nameOf = (row: AnalyticsName, none: string) => row.name || none;

export function dashboardView(root: HTMLElement, navigate: Navigate, id: string): () => void {
  document.title = 'Dashboard · crowdjuke';
  const notice = createNotice();
  let stopped = false;
  let token = '';
  let controller: AbortController | null = null;
  const charts: ChartType[] = [];
  const venuePage = `/venues/${encodeURIComponent(id)}`;

  const title = h('h1', { 'data-testid': 'dashboard-title' }, 'Dashboard');
  const meta = h('p', { class: 'meta', 'data-testid': 'dashboard-meta' });
  const loading = h('p', { class: 'loading', 'data-testid': 'loading', hidden: true }, 'Loading the dashboard…');
  const missing = h('div', { class: 'card', 'data-testid': 'dashboard-missing', hidden: true });
  const body = h('div', { class: 'dashboard-body', hidden: true });
  const back = h('a', { href: venuePage, 'data-testid': 'back-to-venue' }, '← The venue');
  back.addEventListener('click', (e) => {
    e.preventDefault();
    navigate(venuePage);
  });

  // --- the range: two dates and a zone -------------------------------------
  const initial = new URLSearchParams(location.search);
  const from = h('input', { type: 'date', id: 'dashboard-from', name: 'from', 'data-testid': 'dashboard-from', value: initial.get('from') ?? '' });
  const to = h('input', { type: 'date', id: 'dashboard-to', name: 'to', 'data-testid': 'dashboard-to', value: initial.get('to') ?? '' });
  const zone = h('select', { id: 'dashboard-zone', name: 'zone', 'data-testid': 'dashboard-zone' }, h('option', { value: '' }, 'All zones'));
  const apply = h('button', { type: 'submit', class: 'primary', 'data-testid': 'dashboard-apply' }, 'Apply');
  const error = h('p', { class: 'inline-status', id: 'dashboard-error', role: 'alert', 'data-testid': 'dashboard-error' });
  for (const control of [from, to, zone]) control.setAttribute('aria-describedby', 'dashboard-error');
  const filters = h(
    'form',
    { class: 'card dashboard-filters', 'aria-label': 'Dates and zone', 'data-testid': 'dashboard-filters' },
    h('div', { class: 'dashboard-field' }, h('label', { for: 'dashboard-from' }, 'From'), from),
    h('div', { class: 'dashboard-field' }, h('label', { for: 'dashboard-to' }, 'To'), to),
    h('div', { class: 'dashboard-field dashboard-zone' }, h('label', { for: 'dashboard-zone' }, 'Zone'), zone),
    h('div', { class: 'dashboard-field dashboard-apply' }, apply),
    error,
  );
  const wantedZone = initial.get('zone') ?? '';

  // --- the totals ----------------------------------------------------------
  const figure = (testid: string) => h('span', { 'data-testid': testid }, '0');
  const totals = {
    plays: figure('total-plays'),
    skips: figure('total-skips'),
    skipRate: figure('total-skip-rate'),
    votesUp: figure('total-votes-up'),
    votesDown: figure('total-votes-down'),
    approved: figure('total-requests-approved'),
    declined: figure('total-requests-declined'),
    guests: figure('total-guests'),
    stay: figure('total-average-stay'),
  };
  const tile = (testid: string, label: string, value: Array<Node | string>, sub: Array<Node | string> = []) =>
    h('li', { class: 'tile', 'data-testid': testid }, h('span', { class: 'tile-label' }, label), h('span', { class: 'tile-value' }, ...value), h('span', { class: 'tile-sub hint' }, ...sub));
  const tiles = h(
    'ul',
    { class: 'tiles', 'aria-label': 'Totals', 'data-testid': 'dashboard-totals' },
    tile('tile-plays', 'Plays', [totals.plays], [totals.skips, ' skipped']),
    tile('tile-skip-rate', 'Skip rate', [totals.skipRate], ['of the plays']),
    tile('tile-votes', 'Votes up / down', [totals.votesUp, h('span', { class: 'tile-sep', 'aria-hidden': 'true' }, ' / '), h('span', { class: 'visually-hidden' }, ' up, '), totals.votesDown, h('span', { class: 'visually-hidden' }, ' down')], ['on played tracks']),
    tile('tile-requests', 'Requests approved / declined', [totals.approved, h('span', { class: 'tile-sep', 'aria-hidden': 'true' }, ' / '), h('span', { class: 'visually-hidden' }, ' approved, '), totals.declined, h('span', { class: 'visually-hidden' }, ' declined')], ['by the staff']),
    tile('tile-guests', 'Guests', [totals.guests], ['visits to the zones']),
    tile('tile-stay', 'Average stay', [totals.stay], ['per visit']),
  );

  // --- exports -------------------------------------------------------------
  let applied: AnalyticsRange = { from: '', to: '', zone: '' };
  const exportButton = (table: AnalyticsTable) => {
    const button = h('button', { type: 'button', class: 'small', 'data-testid': `export-${table}`, 'aria-label': `Export ${TABLE_NAMES[table]} as CSV` }, 'Export CSV');
    const status = inlineStatus(notice, `export-${table}-status`, button);
    button.addEventListener('click', async () => {
      button.disabled = true;
      status.clear();
      try {
        const { blob, filename } = await analyticsCsv(token, id, table, applied);
        const url = URL.createObjectURL(blob);
        const link = h('a', { href: url, download: filename, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        // The download has its copy once the click is handled.
        window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } catch (err) {
        status.show(venueProblem({ signedOut: () => gate.signedOut('You were signed out. Sign in again.') }, err), 'error');
      } finally {
        button.disabled = false;
      }
    });
    return { button, status: status.el };
  };
  const card = (testid: string, heading: string, table: AnalyticsTable, ...content: Node[]) => {
    const headingId = `${testid}-heading`;
    const exp = exportButton(table);
    return h(
      'section',
      { class: 'card dashboard-card', 'aria-labelledby': headingId, 'data-testid': testid },
      h('div', { class: 'dashboard-card-head' }, h('h2', { id: headingId }, heading), exp.button),
      exp.status,
      ...content,
    );
  };

  // --- charts --------------------------------------------------------------
  const canvas = (testid: string) => h('canvas', { role: 'img', 'data-testid': testid });
  const dayCanvas = canvas('chart-days');
  const hourCanvas = canvas('chart-hours');
  const genreCanvas = canvas('chart-genres');
  const genreBox = h('div', { class: 'chart-box' }, genreCanvas);
  const genresEmpty = h('p', { class: 'empty', 'data-testid': 'genres-empty', hidden: true }, 'No plays in this range yet.');
  const chartsProblem = h('p', { class: 'hint', 'data-testid': 'charts-problem', hidden: true }, 'The charts could not be loaded: the figures are in the tables and the CSV files.');
  const daysCard = card('dashboard-days', 'Plays and guests per day', 'days', h('div', { class: 'chart-box' }, dayCanvas));
  const hoursCard = card(
    'dashboard-hours',
    'Guests by hour of day',
    'hours',
    h('p', { class: 'hint' }, 'Guests present in each hour, on average per day of the range.'),
    h('div', { class: 'chart-box' }, hourCanvas),
  );
  const genresCard = card('dashboard-genres', 'Top genres', 'genres', h('p', { class: 'hint' }, 'Plays per genre.'), genreBox, genresEmpty);

  // --- tables --------------------------------------------------------------
  const tracksBody = h('tbody', { 'data-testid': 'top-tracks-rows' });
  const tracksEmpty = h('p', { class: 'empty', 'data-testid': 'top-tracks-empty', hidden: true }, 'No plays in this range yet.');
  const tracksTable = h(
    'table',
    { class: 'dashboard-table', 'data-testid': 'top-tracks' },
    h(
      'thead',
      {},
      h('tr', {}, ...['Title', 'Artist', 'Plays', 'Skips', 'Skip rate', 'Votes up / down'].map((label, i) => h('th', { scope: 'col', class: ['title', 'col-artist'][i] ?? 'num' }, label))),
    ),
    tracksBody,
  );
  const artistsBody = h('tbody', { 'data-testid': 'top-artists-rows' });
  const artistsEmpty = h('p', { class: 'empty', 'data-testid': 'top-artists-empty', hidden: true }, 'No plays in this range yet.');
  const artistsTable = h(
    'table',
    { class: 'dashboard-table', 'data-testid': 'top-artists' },
    h('thead', {}, h('tr', {}, ...['Artist', 'Plays', 'Skips'].map((label, i) => h('th', { scope: 'col', class: i > 0 ? 'num' : null }, label)))),
    artistsBody,
  );
  // A wide table scrolls on its own on a phone; the region takes the keyboard.
  const scroller = (table: HTMLElement, label: string) => h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': label }, table);
  const tracksCard = card('dashboard-tracks', 'Top tracks', 'tracks', scroller(tracksTable, 'Top tracks'), tracksEmpty);
  const artistsCard = card('dashboard-artists', 'Top artists', 'artists', scroller(artistsTable, 'Top artists'), artistsEmpty);

  body.append(
    filters,
    tiles,
    chartsProblem,
    h('div', { class: 'dashboard-grid' }, h('div', { class: 'dashboard-wide' }, daysCard), hoursCard, genresCard, h('div', { class: 'dashboard-wide dashboard-tables' }, tracksCard, artistsCard)),
  );

  const cell = (text: string, numeric = false) => h('td', { class: numeric ? 'num' : null }, text);
  const drawTables = (report: Analytics) => {
    tracksBody.replaceChildren(
      ...report.tracks.map((t: AnalyticsTrack) =>
        h(
          'tr',
          { 'data-testid': 'top-track', 'data-track-id': t.track_id },
          // On a phone the artist goes under the title (app.css), one column less.
          h('td', { class: 'title' }, t.title, h('span', { class: 'track-artist hint' }, t.artist || '–')),
          h('td', { class: 'col-artist' }, t.artist || '–'),
          cell(String(t.plays), true),
          cell(String(t.skips), true),
          cell(percent(t.skip_rate), true),
          cell(`${t.votes_up} / ${t.votes_down}`, true),
        ),
      ),
    );
    tracksTable.hidden = report.tracks.length === 0;
    tracksEmpty.hidden = report.tracks.length > 0;
    artistsBody.replaceChildren(
      ...report.artists.map((a) => h('tr', { 'data-testid': 'top-artist' }, h('td', { class: 'title' }, nameOf(a, 'Unknown artist')), cell(String(a.plays), true), cell(String(a.skips), true))),
    );
    artistsTable.hidden = report.artists.length === 0;
    artistsEmpty.hidden = report.artists.length > 0;
  };

  const drawTotals = (report: Analytics) => {
    const t = report.totals;
    setText(totals.plays, String(t.plays));
    setText(totals.skips, String(t.skips));
    setText(totals.skipRate, percent(t.skip_rate));
    setText(totals.votesUp, String(t.votes_up));
    setText(totals.votesDown, String(t.votes_down));
    setText(totals.approved, String(t.requests_approved));
    setText(totals.declined, String(t.requests_declined));
    setText(totals.guests, String(t.guests));
    setText(totals.stay, stay(t.average_stay_ms, t.guests));
  };

  const drawCharts = async (report: Analytics) => {
    let lib: ChartsModule;
    try {
      lib = await loadCharts();
    } catch {
      chartsProblem.hidden = false;
      return;
    }
    chartsProblem.hidden = true;
    if (stopped) return;
    const colours = palette();
    const { Chart } = lib;
    Chart.defaults.color = colours.text;
    Chart.defaults.borderColor = `${colours.grid}99`;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    const counts = { beginAtZero: true, ticks: { precision: 0 } };
    const common = { responsive: true, maintainAspectRatio: false, animation: false as const };
    const configs: ChartConfiguration[] = [
      {
        type: 'bar',
        data: {
          labels: report.days.map((d) => shortDay.format(asDate(d.day))),
          datasets: [
            { type: 'bar', label: 'Plays', data: report.days.map((d) => d.plays), backgroundColor: colours.accent, borderRadius: 3, maxBarThickness: 28 },
            // Drawn over the bars.
            { type: 'line', label: 'Guests', data: report.days.map((d) => d.guests), borderColor: colours.link, backgroundColor: colours.link, pointRadius: 2, borderWidth: 2, tension: 0.25, order: -1 },
          ],
        },
        options: { ...common, interaction: { mode: 'index', intersect: false }, scales: { x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: counts }, plugins: { legend: { reverse: true, labels: { boxWidth: 14 } } } },
      },
      {
        type: 'bar',
        data: {
          labels: report.hours.map((r) => String(r.hour).padStart(2, '0')),
          datasets: [{ label: 'Guests (average per day)', data: report.hours.map((r) => r.average), backgroundColor: colours.link, borderRadius: 3, maxBarThickness: 28 }],
        },
        options: { ...common, scales: { x: { ticks: { maxRotation: 0, autoSkipPadding: 6 }, title: { display: true, text: 'Hour of the day' } }, y: { beginAtZero: true } }, plugins: { legend: { display: false } } },
      },
      {
        type: 'bar',
        data: {
          labels: report.genres.map((g) => nameOf(g, 'No genre')),
          datasets: [{ label: 'Plays', data: report.genres.map((g) => g.plays), backgroundColor: colours.ok, borderRadius: 3, maxBarThickness: 22 }],
        },
        options: { ...common, indexAxis: 'y', scales: { x: counts }, plugins: { legend: { display: false } } },
      },
    ];
    // The genres' chart grows with its bars; it is hidden without any.
    genreBox.style.height = `${Math.max(120, 40 + report.genres.length * 28)}px`;
    genreBox.hidden = report.genres.length === 0;
    genresEmpty.hidden = report.genres.length > 0;
    const canvases = [dayCanvas, hourCanvas, genreCanvas];
    canvases.forEach((c, i) => {
      const old = charts[i];
      if (old) {
        old.data = configs[i].data;
        old.update();
      } else charts[i] = new Chart(c, configs[i]);
    });
    const busiest = report.days.reduce((best, d) => (d.plays > best.plays ? d : best), report.days[0]);
    dayCanvas.setAttribute(
      'aria-label',
      `Plays and guests per day: ${report.totals.plays} plays and ${report.totals.guests} guests in all` + (busiest && busiest.plays > 0 ? `, most plays on ${longDay.format(asDate(busiest.day))} (${busiest.plays})` : ''),
    );
    const peak = report.hours.reduce((best, r) => (r.average > best.average ? r : best), report.hours[0]);
    hourCanvas.setAttribute('aria-label', peak && peak.average > 0 ? `Guests by hour of day: the busiest hour starts at ${peak.hour}:00 (${number.format(peak.average)} guests a day on average)` : 'Guests by hour of day: no guests yet');
    genreCanvas.setAttribute('aria-label', `Top genres: ${report.genres.slice(0, 5).map((g) => `${nameOf(g, 'no genre')} ${g.plays}`).join(', ') || 'none yet'}`);
  };

  const draw = (report: Analytics) => {
    from.value = report.from;
    to.value = report.to;
    const zoneName = report.zone_id ? zone.selectedOptions[0]?.textContent ?? 'one zone' : 'all zones';
    setText(meta, `${longDay.format(asDate(report.from))} – ${longDay.format(asDate(report.to))} · ${zoneName} · days in ${report.time_zone}`);
    drawTotals(report);
    drawTables(report);
    void drawCharts(report);
  };

  /** Shows the page's problem in place of the dashboard, with a way back. */
  const refuse = (heading: string, text: string) => {
    body.hidden = true;
    setText(title, heading);
    setText(meta, '');
    const link = h('a', { href: venuePage, class: 'button primary', 'data-testid': 'dashboard-to-venue' }, 'To the venue page');
    link.addEventListener('click', (e) => {
      e.preventDefault();
      navigate(venuePage);
    });
    missing.replaceChildren(h('p', { role: 'alert', 'data-testid': 'dashboard-refused' }, text), h('p', {}, link));
    missing.hidden = false;
  };
  const signedOut = () => gate.signedOut('You were signed out. Sign in again.');
  const notAllowed = (answer: VenueAnswer | null) =>
    refuse(
      'Not for your role',
      `The dashboard is for the venue’s owner and managers${answer ? `: you are ${ROLE_NAMES[answer.role].toLowerCase()} at ${answer.venue.name}` : ''}. Ask the owner if you need its figures.`,
    );

  /** Asks for the report of `range`; the form keeps what was typed if it is refused. */
  const load = async (range: AnalyticsRange, remember: boolean) => {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    apply.disabled = true;
    body.setAttribute('aria-busy', 'true');
    setText(error, '');
    delete error.dataset.kind;
    try {
      const report = await getAnalytics(token, id, range, mine.signal);
      if (stopped || controller !== mine) return;
      applied = { from: report.from, to: report.to, zone: report.zone_id ?? '' };
      draw(report);
      if (remember) {
        const params = new URLSearchParams({ from: report.from, to: report.to });
        if (report.zone_id) params.set('zone', report.zone_id);
        history.replaceState(null, '', `${location.pathname}?${params}`);
      }
    } catch (err) {
      if (stopped || controller !== mine || (err instanceof DOMException && err.name === 'AbortError')) return;
      if (err instanceof ApiError && err.code === 'forbidden') return notAllowed(null);
      if (err instanceof ApiError && err.code === 'invalid_range') setText(error, `These dates were not accepted: ${err.message.replace(/^invalid date range:\s*/, '')}.`);
      else setText(error, venueProblem({ signedOut }, err));
      error.dataset.kind = 'error';
    } finally {
      if (controller === mine) {
        apply.disabled = false;
        body.removeAttribute('aria-busy');
      }
    }
  };

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    void load({ from: from.value, to: to.value, zone: zone.value }, true);
  });

  async function open(_me: Account, t: string): Promise<void> {
    token = t;
    loading.hidden = false;
    missing.hidden = true;
    let answer: VenueAnswer;
    try {
      answer = await getVenue(token, id);
    } catch (err) {
      loading.hidden = true;
      if (err instanceof ApiError && ['venue_not_found', 'not_venue_staff'].includes(err.code)) {
        refuse(err.code === 'venue_not_found' ? 'No such venue' : 'Not your venue', venueProblem({ signedOut }, err));
      } else notice.show(venueProblem({ signedOut }, err), 'error', true);
      return;
    }
    loading.hidden = true;
    if (stopped) return;
    const v = answer.venue;
    document.title = `Dashboard · ${v.name} · crowdjuke`;
    setText(back, `← ${v.name}`);
    if (!can(answer.role, 'analytics')) return notAllowed(answer);
    setText(title, `${v.name} · Dashboard`);
    zone.replaceChildren(h('option', { value: '' }, 'All zones'), ...v.zones.map((z) => h('option', { value: z.room_id }, z.name)));
    // A zone from the address that is no longer there is still asked for: the server says so.
    if (wantedZone && !v.zones.some((z) => z.room_id === wantedZone)) zone.append(h('option', { value: wantedZone }, 'A removed zone'));
    zone.value = wantedZone;
    body.hidden = false;
    // The charts' code comes while the figures are asked for.
    void loadCharts().catch(() => undefined);
    await load({ from: from.value, to: to.value, zone: zone.value }, false);
  }

  const gate = accountGate(
    'The dashboard is for the venue’s owner and managers: sign in with your account.',
    (user, t) => void open(user, t),
    () => {
      controller?.abort();
      body.hidden = true;
      missing.hidden = true;
      setText(title, 'Dashboard');
      setText(meta, '');
    },
  );

  root.append(
    h(
      'main',
      { class: 'page venue-page dashboard-page' },
      h('p', { class: 'back' }, back),
      h('header', { class: 'venue-header' }, title, meta, gate.bar),
      notice.el,
      gate.form,
      loading,
      missing,
      body,
    ),
  );
  return () => {
    stopped = true;
    controller?.abort();
    for (const chart of charts) chart.destroy();
  };
}
