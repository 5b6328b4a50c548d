// The daily chart: bookings (left axis) and net revenue (right axis) over the period, with uPlot.
// Dates are calendar days of the reporting time zone, so the x axis is drawn in UTC: a day must
// not shift to the day before for a viewer west of Greenwich.

import { MISSING, dateToSeconds, formatCompact, formatDate, formatInteger, formatMoney } from './format.js';

const DAY = 86_400;
// Whole days and up: the data is daily (or weekly/monthly), so hour ticks would only mislead.
const TIME_STEPS = [
  DAY,
  2 * DAY,
  3 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
  60 * DAY,
  90 * DAY,
  180 * DAY,
  365 * DAY,
];
const COUNT_STEPS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6,
];

const SERIES = [
  { key: 'new_bookings', label: 'New bookings', color: '--chart-new', scale: 'count' },
  { key: 'confirmed_bookings', label: 'Confirmed', color: '--chart-confirmed', scale: 'count' },
  { key: 'cancelled_bookings', label: 'Cancelled', color: '--chart-cancelled', scale: 'count' },
  { key: 'total_revenue', label: 'Revenue', color: '--chart-revenue', scale: 'money' },
];

function cssVar(name, fallback) {
  const value = window.getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** Taller with larger text (up to half again), so that the plot keeps its room beside the labels. */
function chartHeight(width) {
  const grow = Math.min(Math.max(axisText().scale, 1), 1.5);
  return Math.round((width < 520 ? 240 : 300) * grow);
}

/** Rows of the daily series → uPlot's column data. Rows with a malformed date are dropped. */
export function toColumns(rows) {
  const usable = rows.filter((row) => dateToSeconds(row?.date) !== null);
  return [
    usable.map((row) => dateToSeconds(row.date)),
    ...SERIES.map(({ key }) => usable.map((row) => (typeof row[key] === 'number' ? row[key] : null))),
  ];
}

/** Where revenue sits in the data uPlot draws (after the dates and the three counts). */
const REVENUE = SERIES.length;

/**
 * The money axis: from zero, or below it when net revenue dips, with at most half the height below
 * zero (the counts keep the upper half).
 */
export function moneyRange(u) {
  let min = 0;
  let max = 0;
  for (const value of u.data[REVENUE] ?? []) {
    if (typeof value !== 'number') continue;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const [low, high] = uPlot.rangeNum(min, Math.max(1, max), 0.1, true);
  return [low, Math.max(high, -low)];
}

/**
 * The count axis puts its zero where the money axis puts its own: a day of negative net revenue
 * is drawn below the line where the counts are zero, not above it. Also while revenue is hidden:
 * its axis stays, and still reads right against the counts.
 */
export function countRange(u, max) {
  const [, high] = uPlot.rangeNum(0, Math.max(4, max ?? 0), 0.1, true);
  const [low, top] = moneyRange(u);
  const below = -low / (top - low);
  return [(-high * below) / (1 - below), high];
}

/**
 * A value axis as wide as its longest label: a fixed width cut "40.000" (de-DE) to "40.00" and
 * "120 Mrd." to "120 M". uPlot asks again while it settles the layout (cycle > 1): keep the size.
 */
function fitLabels(u, values, axisIndex, cycle) {
  const axis = u.axes[axisIndex];
  if (cycle > 1 && axis._size) return axis._size;
  const longest = (values ?? []).reduce((a, b) => (String(b).length > a.length ? String(b) : a), '');
  u.ctx.font = axis.font[0];
  const text = longest ? u.ctx.measureText(longest).width / window.devicePixelRatio : 0;
  return Math.ceil(axis.ticks.size + axis.gap + text + 4);
}

const dayAndMonth = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'numeric', timeZone: 'UTC' });
const monthAndYear = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });

/**
 * Dates under the chart in the viewer's locale (uPlot's own are US style: 11/2), the year under
 * the first and wherever it changes; months when the ticks are a month or more apart.
 */
function dateLabels(_u, splits, _axis, _space, increment) {
  return splits.map((seconds, i) => {
    const date = new Date(seconds * 1000);
    if (increment >= 28 * DAY) return monthAndYear.format(date);
    const year = date.getUTCFullYear();
    const newYear = i === 0 || new Date(splits[i - 1] * 1000).getUTCFullYear() !== year;
    return newYear ? `${dayAndMonth.format(date)}\n${year}` : dayAndMonth.format(date);
  });
}

const nonNegative = (_u, splits) => splits.map((value) => (value < 0 ? null : value));

/**
 * The axes' labels at 0.8 of the page's text size (uPlot's 12px at the usual 15px), so that they
 * grow with the reader's text-size setting like the rest of the page; `scale` is that growth.
 */
function axisText() {
  const root = parseFloat(window.getComputedStyle(document.documentElement).fontSize) || 15;
  return { font: `${Math.round(root * 0.8)}px system-ui, sans-serif`, scale: root / 15 };
}

function options(width) {
  const axisStroke = cssVar('--text-muted', '#5b6474');
  const { font, scale } = axisText();
  const grid = { stroke: cssVar('--grid', '#e6e9ef'), width: 1 };
  const ticks = { stroke: cssVar('--grid', '#e6e9ef'), width: 1 };
  return {
    width,
    height: chartHeight(width),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      // Both value axes share their zero (revenue is a net flow and may dip below it).
      count: { range: (u, _min, max) => countRange(u, max) },
      money: { range: (u) => moneyRange(u) },
    },
    axes: [
      // uPlot's date axis is 50px high (two lines of labels at 12px), its ticks 50px apart at least;
      // the value axes' ticks 30px: all grow with the labels.
      {
        stroke: axisStroke,
        font,
        size: Math.round(50 * scale),
        space: Math.round(50 * scale),
        grid,
        ticks,
        incrs: TIME_STEPS,
        values: dateLabels,
      },
      {
        scale: 'count',
        stroke: axisStroke,
        font,
        space: Math.round(30 * scale),
        // Counts are never negative: below zero this axis draws no line, tick or label.
        grid: { ...grid, filter: nonNegative },
        ticks: { ...ticks, filter: nonNegative },
        filter: nonNegative,
        size: fitLabels,
        incrs: COUNT_STEPS,
        values: (_u, values) => values.map((value) => (value == null ? '' : formatCompact(value))),
      },
      {
        scale: 'money',
        side: 1,
        stroke: axisStroke,
        font,
        space: Math.round(30 * scale),
        size: fitLabels,
        grid: { show: false },
        ticks,
        values: (_u, values) => values.map(formatCompact),
      },
    ],
    series: [
      {
        label: 'Date',
        value: (_u, ts) => (ts == null ? MISSING : formatDate(new Date(ts * 1e3).toISOString().slice(0, 10))),
      },
      ...SERIES.map(({ label, color, scale }) => {
        const stroke = cssVar(color, '#2563eb');
        return {
          label,
          scale,
          stroke,
          width: 2,
          points: { size: 5, fill: stroke },
          dash: scale === 'money' ? [6, 4] : undefined,
          value: (_u, v) => (scale === 'money' ? formatMoney(v) : formatInteger(v)),
        };
      }),
    ],
  };
}

/**
 * The chart for keyboards and screen readers: the canvas is an image whose text alternative is the
 * data table under it; each series' name in the legend is a toggle button (uPlot's own click
 * handler does the toggling), and the legend's live values, which follow the mouse, are hidden
 * from screen readers (they read "—" otherwise).
 */
function makeAccessible(plot) {
  const canvas = plot.root.querySelector('canvas');
  canvas?.setAttribute('role', 'img');
  canvas?.setAttribute(
    'aria-label',
    'Chart of daily bookings and revenue; the same figures are in the table under “Show the data as a table”.',
  );
  const legend = plot.root.querySelector('.u-legend');
  if (!legend) return;
  legend.setAttribute('role', 'group');
  legend.setAttribute('aria-label', 'Series shown in the chart');
  for (const part of legend.querySelectorAll('tbody, tr, td, th')) part.setAttribute('role', 'presentation');
  for (const value of legend.querySelectorAll('.u-value')) value.setAttribute('aria-hidden', 'true');
  legend.querySelectorAll('tr.u-series').forEach((row, index) => {
    const label = row.querySelector('th');
    // Row 0 is the date the mouse points at: not a series.
    if (index === 0 || !label) {
      row.setAttribute('aria-hidden', 'true');
      return;
    }
    label.setAttribute('role', 'button');
    label.tabIndex = 0;
    const pressed = () => label.setAttribute('aria-pressed', String(plot.series[index]?.show !== false));
    pressed();
    label.addEventListener('click', () => window.setTimeout(pressed));
    label.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      label.click();
    });
  });
}

/**
 * A chart bound to `container`; it follows the container's width.
 * @param {HTMLElement} container
 */
export function createDailyChart(container) {
  let plot = null;
  const observer = new window.ResizeObserver(() => {
    if (!plot) return;
    const width = container.clientWidth;
    if (width > 0 && width !== plot.width) plot.setSize({ width, height: chartHeight(width) });
  });
  observer.observe(container);
  /** `shown`: each series' visibility to keep (a redraw), before the legend's buttons say it. */
  const draw = (data, shown = []) => {
    plot = new uPlot(options(Math.max(container.clientWidth, 280)), data, container);
    shown.forEach((show, index) => {
      if (index > 0 && show === false) plot.setSeries(index, { show: false });
    });
    makeAccessible(plot);
  };
  // Its colours come from the page's theme when it is drawn: a switch between light and dark
  // draws it again, with the series the legend had hidden still hidden.
  const scheme = window.matchMedia('(prefers-color-scheme: dark)');
  const redraw = () => {
    if (!plot) return;
    const { data } = plot;
    const shown = plot.series.map((series) => series.show);
    plot.destroy();
    draw(data, shown);
  };
  scheme.addEventListener('change', redraw);

  return {
    /** Draws the rows; returns false when there is nothing to draw (the caller shows a note instead). */
    update(rows) {
      const data = toColumns(Array.isArray(rows) ? rows : []);
      if (data[0].length === 0) {
        plot?.destroy();
        plot = null;
        return false;
      }
      if (plot) plot.setData(data);
      else draw(data);
      return true;
    },
    destroy() {
      observer.disconnect();
      scheme.removeEventListener('change', redraw);
      plot?.destroy();
      plot = null;
    },
  };
}
