// Turning the dashboard payload into DOM. Every value goes in through textContent (event names come
// from producers and must never be parsed as HTML), and every figure through format.js.

import {
  formatDate,
  formatDecimal,
  formatGrowth,
  formatInteger,
  formatMoney,
  formatPercent,
  formatTimestamp,
} from './format.js';

/** createElement with attributes and text/element children. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

function byId(id) {
  return document.getElementById(id);
}

const asArray = (value) => (Array.isArray(value) ? value : []);
const asObject = (value) => (value && typeof value === 'object' ? value : {});

/** "+12.5%" with an arrow; the direction is also spelled out for screen readers. */
function growthBadge(value, kpi) {
  const { text, direction } = formatGrowth(value);
  const words = { up: 'up', down: 'down', flat: 'unchanged', none: 'no earlier data' };
  const arrows = { up: '▲', down: '▼', flat: '■', none: '' };
  return h(
    'span',
    { className: `growth growth--${direction}`, 'data-kpi': kpi, 'data-direction': direction },
    // A no-break space: the arrow stays with its figure when a long one wraps.
    arrows[direction] ? h('span', { 'aria-hidden': 'true' }, `${arrows[direction]}\u00a0`) : null,
    h('span', { className: 'visually-hidden' }, `${words[direction]} `),
    text,
  );
}

const KPIS = [
  { key: 'total_events', label: 'Events', format: formatInteger },
  { key: 'total_bookings', label: 'Bookings', format: formatInteger },
  { key: 'total_users', label: 'Users', format: formatInteger },
  { key: 'total_revenue', label: 'Total revenue', format: formatMoney, money: true },
  {
    key: 'recent_bookings',
    label: 'Bookings, last 30 days',
    format: formatInteger,
    growth: 'booking_growth_rate',
  },
  {
    key: 'recent_revenue',
    label: 'Revenue, last 30 days',
    format: formatMoney,
    money: true,
    growth: 'revenue_growth_rate',
  },
  { key: 'avg_capacity_utilization', label: 'Avg capacity utilization', format: formatPercent },
  { key: 'avg_cancellation_rate', label: 'Avg cancellation rate', format: formatPercent },
];

/** A KPI value on one line; a long one (1e11 amounts) gets a smaller font to fit its card. */
function kpiValue(key, text) {
  const value = h('p', { className: 'kpi__value', 'data-kpi': key }, text);
  value.style.setProperty('--chars', String(Math.max(text.length, 10)));
  return value;
}

/** "EUR 12.50 · JPY 900": money in currencies other than the base one, never added to its total. */
function otherCurrencies(amounts) {
  const entries = Object.entries(asObject(amounts));
  if (entries.length === 0) return null;
  return h(
    'p',
    { className: 'kpi__foot', 'data-kpi': 'other_currency_revenue' },
    'Not included: ',
    // The no-break space keeps each "·" at the end of a line, never at the start of the next.
    entries.flatMap(([currency, amount], i) => [
      i > 0 ? '\u00a0· ' : null,
      h('span', { className: 'amount' }, `${currency} ${formatMoney(amount, currency)}`),
    ]),
  );
}

/** " (USD)" after a money label, when the base currency is known. */
const inCurrency = (currency) => (currency ? ` (${currency})` : '');

/** KPI cards from overview.system_metrics; each value carries `data-kpi="<field>"`. */
export function renderKpis(overview, currency, { capacityKnown = true } = {}) {
  const metrics = { ...asObject(asObject(overview).system_metrics) };
  // An average over no event is not 0 %: without an event of known capacity it is unknown.
  if (!capacityKnown) metrics.avg_capacity_utilization = null;
  byId('kpis').replaceChildren(
    ...KPIS.map(({ key, label, format, money, growth }) =>
      h(
        'article',
        { className: 'kpi' },
        h('h3', { className: 'kpi__label' }, money ? `${label}${inCurrency(currency)}` : label),
        kpiValue(key, format(metrics[key], currency)),
        growth
          ? h('p', { className: 'kpi__foot' }, growthBadge(metrics[growth], growth), ' vs previous 30 days')
          : null,
        key === 'total_revenue' ? otherCurrencies(metrics.other_currency_revenue) : null,
      ),
    ),
  );
}

/** `zone`: the zone the figures' days are in, named after the date when known. */
export function renderMeta(meta, zone) {
  const generated = byId('meta-generated');
  generated.textContent = formatTimestamp(meta.generated_at);
  if (typeof meta.generated_at === 'string') generated.setAttribute('datetime', meta.generated_at);
  else generated.removeAttribute('datetime');
  byId('meta-as-of').textContent =
    typeof meta.as_of === 'string' ? `${formatDate(meta.as_of)}${zone ? ` (${zone})` : ''}` : '—';
  byId('meta-version').textContent = formatInteger(meta.data_version);
  byId('meta-stale').hidden = meta.stale !== true;
}

/** One line over the chart from booking_trends. */
export function renderTrendSummary(trends, days) {
  const t = asObject(trends);
  const growth = formatGrowth(t.growth_rate);
  const parts = [
    `${formatInteger(t.total_bookings)} bookings in the last ${days} days`,
    // The API's rate is 0 over a window without new bookings; cancellations of older ones are not 0 %.
    `${formatInteger(t.total_cancelled)} cancelled (${formatPercent(t.total_bookings === 0 ? null : t.cancellation_rate)})`,
    `${formatDecimal(t.daily_average)} per day`,
    `growth ${growth.text}`,
  ];
  byId('trend-summary').textContent = parts.join(' · ');
}

export function renderDailyTable(series, currency) {
  byId('daily-rows').replaceChildren(
    ...asArray(series).map((row) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, formatDate(row.date)),
        h('td', { className: 'num' }, formatInteger(row.new_bookings)),
        h('td', { className: 'num' }, formatInteger(row.confirmed_bookings)),
        h('td', { className: 'num' }, formatInteger(row.cancelled_bookings)),
        h('td', { className: 'num' }, formatMoney(row.total_revenue, currency)),
      ),
    ),
  );
}

/** A horizontal bar for a percentage; capped visually at 100 (utilization may exceed it). */
function bar(percent, className = '') {
  const fill = h('span', { className: 'bar__fill' });
  const value =
    typeof percent === 'number' && Number.isFinite(percent) ? Math.min(Math.max(percent, 0), 100) : 0;
  fill.style.width = `${value}%`;
  return h('span', { className: `bar ${className}`, 'aria-hidden': 'true' }, fill);
}

function emptyRow(columns, text) {
  return h('tr', { role: 'row' }, h('td', { colspan: columns, className: 'empty', role: 'cell' }, text));
}

const RANK_FIELD = { bookings: 'booking_rank', revenue: 'revenue_rank', utilization: 'utilization_rank' };

export function renderTopEvents(topEvents, currency) {
  const top = asObject(topEvents);
  const events = asArray(top.events);
  const sortBy = typeof top.sort_by === 'string' ? top.sort_by : 'bookings';
  byId('top-sub').textContent =
    `By ${sortBy} · ${formatInteger(events.length)} of ${formatInteger(top.total)} events`;
  const rankField = RANK_FIELD[sortBy] ?? 'booking_rank';
  byId('top-rows').replaceChildren(
    ...(events.length === 0
      ? [emptyRow(6, 'No events yet.')]
      : events.map((event, index) =>
          h(
            'tr',
            { 'data-event-id': event.event_id, role: 'row' },
            h(
              'td',
              { className: 'num col-rank', role: 'cell' },
              formatInteger(event[rankField] ?? index + 1),
            ),
            h(
              'th',
              { scope: 'row', role: 'rowheader', className: 'event-name', dir: 'auto' },
              String(event.event_name ?? '—'),
            ),
            h(
              'td',
              { className: 'col-category', role: 'cell' },
              h('span', { className: 'tag', dir: 'auto' }, String(event.category ?? '—')),
            ),
            h('td', { className: 'num col-bookings', role: 'cell' }, formatInteger(event.total_bookings)),
            h(
              'td',
              { className: 'num col-revenue', role: 'cell' },
              formatMoney(event.total_revenue, currency),
            ),
            h(
              'td',
              { className: 'col-util', role: 'cell' },
              h(
                'span',
                { className: 'util' },
                bar(event.capacity_utilization),
                h('span', { className: 'util__value' }, formatPercent(event.capacity_utilization)),
              ),
            ),
          ),
        )),
  );
}

function eventList(title, events, valueOf, emptyText) {
  const items = asArray(events).slice(0, 5);
  return h(
    'div',
    { className: 'mini-list' },
    h('h3', {}, title),
    items.length === 0
      ? h('p', { className: 'empty' }, emptyText)
      : h(
          'ol',
          {},
          items.map((event) =>
            h(
              'li',
              {},
              h('span', { className: 'mini-list__name', dir: 'auto' }, String(event.event_name ?? '—')),
              valueOf(event),
            ),
          ),
        ),
  );
}

const BANDS = [
  { key: 'high', label: 'High', range: '≥ 80%' },
  { key: 'medium', label: 'Medium', range: '50–80%' },
  { key: 'low', label: 'Low', range: '< 50%' },
];

export function renderCapacity(capacity) {
  const c = asObject(capacity);
  const distribution = asObject(c.utilization_distribution);
  byId('capacity-sub').textContent = `${formatInteger(c.total_events)} events with a known capacity`;
  const total = BANDS.reduce((sum, { key }) => sum + (Number(distribution[key]) || 0), 0);
  const segments = BANDS.map(({ key }) => {
    const segment = h('span', { className: `stack__seg stack__seg--${key}` });
    segment.style.flexGrow = String(Number(distribution[key]) || 0);
    return segment;
  });
  byId('capacity').replaceChildren(
    h(
      'p',
      { className: 'figure' },
      h(
        'span',
        { className: 'figure__value', 'data-figure': 'average_utilization' },
        formatPercent(c.total_events === 0 ? null : c.average_utilization),
      ),
      h('span', { className: 'figure__label' }, 'average utilization'),
    ),
    h('div', { className: `stack${total === 0 ? ' stack--empty' : ''}`, 'aria-hidden': 'true' }, segments),
    h(
      'dl',
      { className: 'bands' },
      BANDS.map(({ key, label, range }) =>
        h(
          'div',
          { className: `bands__item bands__item--${key}` },
          h(
            'dt',
            {},
            h('span', { className: 'swatch', 'aria-hidden': 'true' }),
            `${label} `,
            h('small', {}, range),
          ),
          h('dd', { 'data-band': key }, formatInteger(distribution[key])),
        ),
      ),
    ),
    eventList(
      'Most utilized',
      c.top_utilized_events,
      (e) => h('span', { className: 'num' }, formatPercent(e.utilization)),
      'No events with a capacity yet.',
    ),
    eventList(
      'Under-utilized (< 50%)',
      c.underutilized_events,
      (e) => h('span', { className: 'num' }, formatPercent(e.utilization)),
      'None.',
    ),
  );
}

export function renderRevenue(revenue, days, currency) {
  const r = asObject(revenue);
  byId('revenue-sub').textContent = `Last ${days} days${currency ? ` · ${currency}` : ''}`;
  byId('revenue').replaceChildren(
    h(
      'p',
      { className: 'figure' },
      h(
        'span',
        { className: 'figure__value', 'data-figure': 'total_revenue' },
        formatMoney(r.total_revenue, currency),
      ),
      h('span', { className: 'figure__label' }, 'net revenue in the period'),
    ),
    h(
      'dl',
      { className: 'pairs' },
      h(
        'div',
        {},
        h('dt', {}, 'Per day'),
        h('dd', { className: 'num' }, formatMoney(r.average_daily_revenue, currency)),
      ),
      h(
        'div',
        {},
        h('dt', {}, 'Growth'),
        h('dd', {}, growthBadge(r.revenue_growth_rate, 'period_revenue_growth')),
      ),
    ),
    eventList(
      'Top events by revenue (all time)',
      r.top_revenue_events,
      (e) =>
        h(
          'span',
          { className: 'num' },
          formatMoney(e.revenue, currency),
          h('small', {}, ` avg ${formatMoney(e.avg_booking_value, currency)}`),
        ),
      'No revenue yet.',
    ),
  );
}

/**
 * The whole dashboard payload: `zone` is the one the figures are in, `trendDays` the period asked
 * for, `revenueDays` the one on screen, and `chart` the daily chart to draw the series in.
 */
export function renderDashboard(data, meta, { currency, zone, trendDays, revenueDays, chart }) {
  renderMeta(meta, zone);
  const capacity = asObject(data.capacity_utilization);
  renderKpis(data.overview, currency, { capacityKnown: capacity.total_events !== 0 });
  renderTrendSummary(data.booking_trends, trendDays);
  const series = Array.isArray(data.daily_analytics?.series) ? data.daily_analytics.series : [];
  const drawn = chart.update(series);
  byId('chart').dataset.points = String(drawn ? series.length : 0);
  // The series has a row for every day; a period without a booking or any money is still empty:
  // the note says so instead of a chart of flat zeros.
  const active = series.some((d) => d.new_bookings > 0 || d.total_revenue !== 0 || d.cancelled_bookings > 0);
  byId('chart').hidden = !(drawn && active);
  byId('chart-empty').hidden = drawn && active;
  renderDailyTable(series, currency);
  renderTopEvents(data.top_events, currency);
  renderCapacity(data.capacity_utilization);
  renderRevenue(data.revenue_analytics, revenueDays, currency);
}

/** Empties every data region, so nothing of a signed-out session stays on the page. */
export function clearDashboard() {
  for (const id of ['kpis', 'daily-rows', 'top-rows', 'capacity', 'revenue']) byId(id).replaceChildren();
  for (const id of ['trend-summary', 'top-sub', 'capacity-sub', 'revenue-sub']) byId(id).textContent = '';
  renderMeta({});
}
