// Today's orders per hour and the average time from placed to served: one
// `GET /api/stats/today` when the page loads, then kept current from the `orders` topic
// with no further request — an order with an id above the figures' `last_order_id` is
// new (counted in its hour), and one of their `open_order_ids` reaching served or
// cancelled is counted as such. The figures are asked again only when the topic had to
// start over (a fresh snapshot after a long drop) and when the store's day ends.
import { signal } from "@preact/signals";
import { api } from "./api.js";
import { addMessages, lang, t } from "./i18n.js";
import { minute, span } from "./since.js";
import { html } from "./ui.js";

addMessages({
  en: {
    "stats.title": "Today",
    "stats.orders": "Orders",
    "stats.served": "Served",
    "stats.cancelled": "Cancelled",
    "stats.average": "Placed → served",
    "stats.noAverage": "—",
    "stats.chart": "Orders per hour today: {summary}",
    "stats.hour": "{hour}:00",
    "stats.loading": "Counting today's orders…",
    "stats.failed": "Today's figures could not be read: {message}",
    "stats.retry": "Try again",
  },
  ko: {
    "stats.title": "오늘",
    "stats.orders": "주문",
    "stats.served": "서빙 완료",
    "stats.cancelled": "취소",
    "stats.average": "주문 → 서빙 평균",
    "stats.noAverage": "—",
    "stats.chart": "오늘 시간대별 주문: {summary}",
    "stats.hour": "{hour}시",
    "stats.loading": "오늘 주문을 세는 중…",
    "stats.failed": "오늘 집계를 읽지 못했습니다: {message}",
    "stats.retry": "다시 시도",
  },
});

const TERMINAL = new Set(["served", "cancelled"]);
const HOUR_MS = 3600000;
const DAY_END_GRACE_MS = 2000;

// The figures and how they change. One per page.
export class TodayFigures {
  constructor(live) {
    this.figures = signal(null); // the API's object, kept current
    this.problem = signal(null);
    this.base = null; // {lastId, open: Set, counted: Set, start, end, servedSeconds}
    this.pending = []; // updates that came while the figures were being read
    this.loading = false;
    this.snapshots = 0;
    this.dayTimer = null;
    this.generation = 0; // a reload's answer counts only if no later reload started
    live.follow("orders", (message) => this._onOrders(message));
    this.reload();
  }

  async reload() {
    const generation = ++this.generation;
    this.base = null;
    this.pending = [];
    this.loading = true;
    clearTimeout(this.dayTimer);
    try {
      const figures = await api("/api/stats/today");
      if (generation !== this.generation) return;
      this.loading = false;
      this.problem.value = null;
      this._start(figures);
    } catch (error) {
      if (generation !== this.generation) return;
      this.loading = false;
      this.pending = [];
      this.problem.value = error;
    }
  }

  _start(figures) {
    const served = figures.served;
    this.base = {
      lastId: figures.last_order_id ?? 0,
      open: new Set(figures.open_order_ids),
      counted: new Set(),
      start: Date.parse(figures.day_start),
      end: Date.parse(figures.day_end),
      servedSeconds: (figures.avg_placed_to_served_s ?? 0) * served,
    };
    this.figures.value = figures;
    const pending = this.pending;
    this.pending = [];
    for (const order of pending) this._count(order);
    const untilEnd = this.base.end - Date.now() + DAY_END_GRACE_MS;
    this.dayTimer = setTimeout(() => this.reload(), Math.max(untilEnd, 1000));
  }

  _onOrders(message) {
    if (message.type === "snapshot") {
      // The first is the subscription's start (the figures are asked for meanwhile);
      // a later one means updates were missed: count again from the database.
      if (this.snapshots++ > 0) this.reload();
      return;
    }
    if (message.type !== "upsert") return;
    if (this.base) this._count(message.data);
    else if (this.loading) this.pending.push(message.data);
  }

  _count(order) {
    const base = this.base;
    const figures = { ...this.figures.value };
    if (order.id > base.lastId && !base.counted.has(order.id)) {
      const placed = Date.parse(order.created_at);
      if (placed < base.start || placed >= base.end) return;
      base.counted.add(order.id);
      base.open.add(order.id);
      figures.orders += 1;
      const slot = Math.floor((placed - base.start) / HOUR_MS);
      figures.orders_per_hour = figures.orders_per_hour.map((hour, n) => (n === slot ? { ...hour, orders: hour.orders + 1 } : hour));
    }
    if (TERMINAL.has(order.status) && base.open.delete(order.id)) {
      if (order.status === "served") {
        figures.served += 1;
        base.servedSeconds += Math.max(0, (Date.parse(order.updated_at) - Date.parse(order.created_at)) / 1000);
        figures.avg_placed_to_served_s = base.servedSeconds / figures.served;
      } else {
        figures.cancelled += 1;
      }
    }
    this.figures.value = figures;
  }
}

export function TodayStats({ today }) {
  const figures = today.figures.value;
  const problem = today.problem.value;
  lang.value;
  const now = minute.value;
  return html`<section class="card dash-stats" data-stats aria-labelledby="stats-title">
    <h2 id="stats-title">${t("stats.title")}${figures && html` <span class="muted">${figures.date}</span>`}</h2>
    ${problem &&
    html`<p class="alert dash-problem" role="alert"><span>${t("stats.failed", { message: problem.message })}</span>
      <button type="button" data-action="reload-stats" onClick=${() => today.reload()}>${t("stats.retry")}</button></p>`}
    ${!figures && !problem && html`<p class="muted">${t("stats.loading")}</p>`}
    ${figures &&
    html`<dl class="stats-figures">
        <div><dt>${t("stats.orders")}</dt><dd data-figure="orders">${figures.orders}</dd></div>
        <div><dt>${t("stats.served")}</dt><dd data-figure="served">${figures.served}</dd></div>
        <div><dt>${t("stats.cancelled")}</dt><dd data-figure="cancelled">${figures.cancelled}</dd></div>
        <div><dt>${t("stats.average")}</dt><dd data-figure="average">${figures.avg_placed_to_served_s === null
          ? t("stats.noAverage")
          : span(figures.avg_placed_to_served_s)}</dd></div>
      </dl>
      <${HourChart} hours=${figures.orders_per_hour} now=${now} />`}
  </section>`;
}

// Plain SVG bars, one per hour; the count on each bar that has one, every third hour
// named, the current hour marked.
function HourChart({ hours, now }) {
  const width = 480;
  const height = 150;
  const bottom = 22;
  const top = 16;
  const most = Math.max(1, ...hours.map((hour) => hour.orders));
  const step = width / hours.length;
  const summary = hours.filter((hour) => hour.orders).map((hour) => `${t("stats.hour", { hour: hour.hour })} ${hour.orders}`).join(", ");
  return html`<svg class="hour-chart" data-chart="orders-per-hour" viewBox=${`0 0 ${width} ${height}`} role="img"
    aria-label=${t("stats.chart", { summary: summary || "0" })}>
    <line x1="0" x2=${width} y1=${height - bottom} y2=${height - bottom} class="axis" />
    ${hours.map((hour, n) => {
      const start = Date.parse(hour.start);
      const current = now >= start && now < start + HOUR_MS;
      const tall = ((height - bottom - top) * hour.orders) / most;
      const x = n * step;
      return html`<g key=${hour.start} class=${current ? "hour now" : "hour"} data-hour=${hour.hour} data-orders=${hour.orders}>
        <rect x=${x + step * 0.15} y=${height - bottom - tall} width=${step * 0.7} height=${Math.max(tall, 0)} />
        ${hour.orders > 0 && html`<text x=${x + step / 2} y=${height - bottom - tall - 3} class="count">${hour.orders}</text>`}
        ${(hour.hour % 3 === 0 || current) && html`<text x=${x + step / 2} y=${height - 6} class="label">${hour.hour}</text>`}
      </g>`;
    })}
  </svg>`;
}
