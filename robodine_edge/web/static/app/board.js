// The orders board, shared by the kitchen's wall screen and the dashboard: the active
// orders in columns placed → cooking → ready → serving, each a ticket with its table,
// items and notes, an age timer from the moment it was placed and a colour for its age
// (`kitchen_warning_s`, `kitchen_late_s` from the settings), one tap to its next step,
// cancel (asked first), flagged orders marked with their reason. Orders just served or
// cancelled stay in a "just finished" strip for a minute. "Recall" shows again the last
// ticket this screen moved on (an order only goes forward: see docs/SCREENS.md), and
// "all day" counts what is still to cook, per dish.
//
// Everything comes from the `orders` and `tables` topics; the only HTTP is one GET of the
// settings at load and the taps themselves. The age timers tick once a second locally.
import { signal } from "@preact/signals";
import { api } from "./api.js";
import { ConfirmDialog, Modal } from "./confirm.js";
import { addMessages, clockTime, t } from "./i18n.js";
import { TopicStore } from "./live.js";
import { html } from "./ui.js";

export const COLUMNS = ["placed", "cooking", "ready", "serving"];
export const NEXT = { placed: "cooking", cooking: "ready", ready: "serving", serving: "served" };
const CANCELLABLE = new Set(["placed", "cooking"]);
const FINISHED = new Set(["served", "cancelled"]);
const TO_COOK = new Set(["placed", "cooking"]);
export const DEFAULT_SETTINGS = { kitchen_warning_s: 300, kitchen_late_s: 480 };
const FINISHED_SHOWN_MS = 60000;
const NOTICE_MS = 4000;

// -- ages --------------------------------------------------------------------------------

// Whole seconds since the order was placed (never negative: a screen whose clock is a
// little behind the edge's shows 00:00, not a minus).
export function ageSeconds(order, nowMs) {
  const end = FINISHED.has(order.status) ? Date.parse(order.updated_at) : nowMs;
  return Math.max(0, Math.floor((end - Date.parse(order.created_at)) / 1000));
}

export function ageLevel(seconds, settings) {
  if (seconds >= settings.kitchen_late_s) return "late";
  if (seconds >= settings.kitchen_warning_s) return "warning";
  return "ok";
}

export function formatAge(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${String(minutes).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}

// What is still to cook, per dish: the quantities of every placed or cooking order.
export function allDayCounts(orders) {
  const counts = new Map();
  for (const order of orders) {
    if (!TO_COOK.has(order.status)) continue;
    for (const item of order.items) {
      const line = counts.get(item.menu_item_id) || { menu_item_id: item.menu_item_id, name: item.name, count: 0 };
      line.count += item.quantity;
      counts.set(item.menu_item_id, line);
    }
  }
  return Array.from(counts.values()).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

// -- the board's state, one per live socket ------------------------------------------------

// The settings that colour the tickets: read once at page load (there is no settings
// topic; a reload picks up a change).
function loadSettings() {
  const settings = signal(DEFAULT_SETTINGS);
  api("/api/settings").then(
    (read) => {
      settings.value = { kitchen_warning_s: read.kitchen_warning_s, kitchen_late_s: read.kitchen_late_s };
    },
    () => {}, // the defaults stay: the board still works
  );
  return settings;
}

class BoardModel {
  constructor(live) {
    this.orders = new TopicStore(live, "orders", "id");
    this.tables = new TopicStore(live, "tables", "id");
    this.settings = loadSettings();
    this.now = signal(Date.now());
    this.busy = signal(new Set()); // orders with a tap on its way
    this.notices = signal(new Map()); // order id -> {text, until}
    this.asking = signal(null); // {id, where}: the ticket whose cancel is being confirmed
    this.lastBumped = signal(null); // {order, to, at} of the last ticket this screen moved on
    this.recalling = signal(false);
    setInterval(() => this.tick(), 1000);
  }

  // Once a second: the timers move, notices expire, finished orders leave memory.
  tick() {
    const now = Date.now();
    this.now.value = now;
    const notices = this.notices.value;
    if (Array.from(notices.values()).some((n) => n.until <= now)) {
      this.notices.value = new Map(Array.from(notices).filter(([, n]) => n.until > now));
    }
    for (const [id, order] of this.orders.items) {
      if (FINISHED.has(order.status) && now - Date.parse(order.updated_at) > FINISHED_SHOWN_MS) this.orders.items.delete(id);
    }
  }

  tableName(tableId) {
    const table = this.tables.get(tableId);
    return table ? table.name : t("board.table", { id: tableId });
  }

  notice(orderId, text) {
    const notices = new Map(this.notices.value);
    notices.set(orderId, { text, until: Date.now() + NOTICE_MS });
    this.notices.value = notices;
  }

  async act(order, path, body, to) {
    if (this.busy.value.has(order.id)) return;
    this.busy.value = new Set(this.busy.value).add(order.id);
    try {
      const moved = await api(`/api/orders/${order.id}/${path}`, { method: "POST", body });
      this.lastBumped.value = { order: moved, to, at: new Date().toISOString() };
    } catch (error) {
      // A robot (or another screen) moved it first: say so briefly; the card already
      // follows the live state.
      const text =
        error.status === 409 ? t("board.refused.moved") : error.status === 0 ? t("error.network") : t("error.generic", { message: error.message });
      this.notice(order.id, text);
    } finally {
      const busy = new Set(this.busy.value);
      busy.delete(order.id);
      this.busy.value = busy;
    }
  }

  bump(order) {
    const to = NEXT[order.status];
    if (to) this.act(order, "status", { status: to }, to);
  }

  cancel(order) {
    this.asking.value = null;
    this.act(order, "cancel", undefined, "cancelled");
  }
}

const models = new WeakMap();

// The board's state for this page's socket (the dashboard and the kitchen each have one):
// the `orders` and `tables` stores, settings, the ticking clock, the last bumped ticket.
export function boardModel(live) {
  let model = models.get(live);
  if (!model) {
    model = new BoardModel(live);
    models.set(live, model);
  }
  return model;
}

// -- components ------------------------------------------------------------------------------

addMessages({
  en: {
    "board.title": "Orders",
    "board.table": "Table {id}",
    "board.number": "#{id}",
    "board.status.placed": "New",
    "board.status.cooking": "Cooking",
    "board.status.ready": "Ready",
    "board.status.serving": "Serving",
    "board.status.served": "Served",
    "board.status.cancelled": "Cancelled",
    "board.action.cooking": "Start cooking",
    "board.action.ready": "Ready",
    "board.action.serving": "Send out",
    "board.action.served": "Served",
    "board.action.cancel": "Cancel",
    "board.age.ok": "On time",
    "board.age.warning": "Waiting long",
    "board.age.late": "Late",
    "board.age.label": "Placed {age} ago",
    "board.age.took": "Took {age}",
    "board.flagged": "Needs attention: {reason}",
    "board.flagged.unknown": "Needs attention",
    "board.priority": "Priority",
    "board.empty": "No orders",
    "board.finished": "Just finished",
    "board.refused.moved": "Already moved on elsewhere: the ticket shows where it is now.",
    "board.cancel.title": "Cancel order {number} for {table}?",
    "board.cancel.message": "The order stops here and cannot be brought back.",
    "board.cancel.yes": "Yes, cancel the order",
    "board.cancel.no": "Keep the order",
    "board.recall": "Recall",
    "board.recall.none": "Nothing bumped yet",
    "board.recall.title": "Last bumped ticket",
    "board.recall.moved": "Moved to “{status}” at {time}.",
    "board.recall.forward": "An order only moves forward: move it on or cancel it from here.",
    "board.recall.close": "Close",
    "board.allday": "All day",
    "board.allday.none": "Nothing to cook",
  },
  ko: {
    "board.title": "주문",
    "board.table": "{id}번 테이블",
    "board.number": "#{id}",
    "board.status.placed": "신규",
    "board.status.cooking": "조리 중",
    "board.status.ready": "준비 완료",
    "board.status.serving": "서빙 중",
    "board.status.served": "서빙 완료",
    "board.status.cancelled": "취소됨",
    "board.action.cooking": "조리 시작",
    "board.action.ready": "준비 완료",
    "board.action.serving": "서빙 보내기",
    "board.action.served": "서빙 완료",
    "board.action.cancel": "취소",
    "board.age.ok": "정상",
    "board.age.warning": "지연 주의",
    "board.age.late": "늦음",
    "board.age.label": "주문 후 {age} 지남",
    "board.age.took": "{age} 걸림",
    "board.flagged": "확인 필요: {reason}",
    "board.flagged.unknown": "확인 필요",
    "board.priority": "우선",
    "board.empty": "주문 없음",
    "board.finished": "방금 끝난 주문",
    "board.refused.moved": "이미 다른 곳에서 처리된 주문입니다. 지금 상태로 보여 드립니다.",
    "board.cancel.title": "{table} 주문 {number}, 취소할까요?",
    "board.cancel.message": "취소한 주문은 되돌릴 수 없습니다.",
    "board.cancel.yes": "네, 주문 취소",
    "board.cancel.no": "주문 유지",
    "board.recall": "다시 보기",
    "board.recall.none": "아직 넘긴 주문이 없습니다",
    "board.recall.title": "마지막으로 넘긴 주문",
    "board.recall.moved": "{time}에 ‘{status}’(으)로 넘겼습니다.",
    "board.recall.forward": "주문은 앞 단계로 되돌릴 수 없습니다. 여기서 다음 단계로 넘기거나 취소하세요.",
    "board.recall.close": "닫기",
    "board.allday": "남은 조리 수량",
    "board.allday.none": "조리할 음식 없음",
  },
});

function Items({ items }) {
  return html`<ul class="ticket-items">
    ${items.map(
      (item, index) => html`<li key=${index} data-menu-item-id=${item.menu_item_id}>
        <span class="qty">${item.quantity}×</span> <span class="dish">${item.name}</span>
        ${item.note && html`<span class="note">${item.note}</span>`}
      </li>`,
    )}
  </ul>`;
}

// One order. `controls` is false in the "just finished" strip; `where` tells the board's
// ticket from the same order's in the recall dialog (only the one tapped asks to cancel).
export function Ticket({ model, order, settings, controls = true, where = "board" }) {
  const age = ageSeconds(order, model.now.value);
  const level = ageLevel(age, settings);
  const next = NEXT[order.status];
  const busy = model.busy.value.has(order.id);
  const notice = model.notices.value.get(order.id);
  const ask = model.asking.value;
  const asking = !!ask && ask.id === order.id && ask.where === where && CANCELLABLE.has(order.status);
  const finished = FINISHED.has(order.status);
  const number = t("board.number", { id: order.id });
  const table = model.tableName(order.table_id);
  return html`<article class="ticket age-${level} status-${order.status}${order.flagged ? " flagged" : ""}"
      data-order-id=${order.id} data-status=${order.status} data-age-level=${level} data-flagged=${String(!!order.flagged)}
      data-table-id=${order.table_id}>
    <header class="ticket-head">
      <span class="ticket-who">
        <span class="ticket-table">${table}</span> <span class="ticket-number">${number}</span>
        ${order.priority > 0 && html` <span class="ticket-priority">${t("board.priority")}</span>`}
      </span>
      <span class="ticket-age" data-age-s=${age}
        title=${t(finished ? "board.age.took" : "board.age.label", { age: formatAge(age) })}>
        <time>${formatAge(age)}</time>
        ${(finished || level !== "ok") &&
        html`<span class="age-word">${t(finished ? `board.status.${order.status}` : `board.age.${level}`)}</span>`}
      </span>
    </header>
    ${order.flagged &&
    html`<p class="ticket-flag" data-flag-reason=${order.flag_reason || ""}>
      ${order.flag_reason ? t("board.flagged", { reason: order.flag_reason }) : t("board.flagged.unknown")}</p>`}
    <${Items} items=${order.items} />
    ${notice && html`<p class="ticket-notice" role="status">${notice.text}</p>`}
    ${controls &&
    !finished &&
    html`<div class="ticket-actions">
      ${next &&
      html`<button type="button" class="primary" data-action=${next} disabled=${busy} onClick=${() => model.bump(order)}>
        ${t(`board.action.${next}`)}</button>`}
      ${CANCELLABLE.has(order.status) &&
      !asking &&
      html`<button type="button" class="cancel" data-action="cancel" disabled=${busy}
        onClick=${() => (model.asking.value = { id: order.id, where })}>${t("board.action.cancel")}</button>`}
    </div>`}
    ${controls &&
    asking &&
    html`<${ConfirmDialog} action="cancel" title=${t("board.cancel.title", { number, table })}
      message=${t("board.cancel.message")} yes=${t("board.cancel.yes")} no=${t("board.cancel.no")}
      onYes=${() => model.cancel(order)} onNo=${() => (model.asking.value = null)} />`}
  </article>`;
}

function byUrgency(a, b) {
  return b.priority - a.priority || Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id;
}

function Column({ model, settings, status, orders }) {
  return html`<section class="board-column" data-column=${status} aria-label=${t(`board.status.${status}`)}>
    <h2><span>${t(`board.status.${status}`)}</span> <span class="count">${orders.length}</span></h2>
    <div class="board-tickets">
      ${orders.length ? orders.map((order) => html`<${Ticket} key=${order.id} model=${model} settings=${settings} order=${order} />`) : html`<p class="muted board-empty">${t("board.empty")}</p>`}
    </div>
  </section>`;
}

function Finished({ model, settings, orders }) {
  if (!orders.length) return null;
  return html`<section class="board-finished" data-finished aria-label=${t("board.finished")}>
    <h2>${t("board.finished")}</h2>
    <div class="board-finished-tickets">
      ${orders.map(
        (order) => html`<${Ticket} key=${order.id} model=${model} settings=${settings} order=${order} controls=${false} />`,
      )}
    </div>
  </section>`;
}

export function AllDay({ live }) {
  const model = boardModel(live);
  model.orders.version.value;
  const counts = allDayCounts(model.orders.values());
  return html`<aside class="all-day" data-all-day aria-label=${t("board.allday")}>
    <h2>${t("board.allday")}</h2>
    ${counts.length
      ? html`<ul>
          ${counts.map(
            (line) => html`<li key=${line.menu_item_id} data-menu-item-id=${line.menu_item_id} data-count=${line.count}>
              <span class="all-day-count">${line.count}</span> <span class="dish">${line.name}</span>
            </li>`,
          )}
        </ul>`
      : html`<p class="muted">${t("board.allday.none")}</p>`}
  </aside>`;
}

// Shows the last ticket this screen moved on again, live (its state now, and its next
// step or cancel if it still has one).
export function RecallButton({ live }) {
  const model = boardModel(live);
  const last = model.lastBumped.value;
  return html`<button type="button" class="recall" data-action="recall" disabled=${!last}
      title=${last ? "" : t("board.recall.none")} onClick=${() => (model.recalling.value = true)}>
    ↶ ${t("board.recall")}</button>`;
}

function RecallDialog({ model, settings }) {
  const last = model.lastBumped.value;
  if (!model.recalling.value || !last) return null;
  model.orders.version.value;
  const order = model.orders.get(last.order.id) || last.order;
  const close = () => (model.recalling.value = false);
  return html`<${Modal} title=${t("board.recall.title")} onClose=${close} className="recall-dialog" data-recall>
    <p>${t("board.recall.moved", { status: t(`board.status.${last.to}`), time: clockTime(last.at) })}</p>
    <${Ticket} model=${model} settings=${settings} order=${order} where="recall" />
    ${!FINISHED.has(order.status) && html`<p class="muted">${t("board.recall.forward")}</p>`}
    <div class="modal-actions">
      <button type="button" data-safe data-action="close-recall" onClick=${close}>${t("board.recall.close")}</button>
    </div>
  </${Modal}>`;
}

// The board. `settings` ({kitchen_warning_s, kitchen_late_s}) overrides the store's
// (read at page load); `large` sets wall-screen type; `allDay` and `recall` add the
// all-day counts beside it and the recall control above it.
export function OrdersBoard({ live, settings, large = false, allDay = false, recall = true, title = true }) {
  const model = boardModel(live);
  const ages = settings ? { ...DEFAULT_SETTINGS, ...settings } : model.settings.value;
  model.orders.version.value;
  model.tables.version.value;
  const now = model.now.value;
  const orders = model.orders.values();
  const columns = Object.fromEntries(COLUMNS.map((status) => [status, []]));
  const finished = [];
  for (const order of orders) {
    if (columns[order.status]) columns[order.status].push(order);
    else if (FINISHED.has(order.status) && now - Date.parse(order.updated_at) <= FINISHED_SHOWN_MS) finished.push(order);
  }
  for (const list of Object.values(columns)) list.sort(byUrgency);
  finished.sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at));
  return html`<div class="board${large ? " large" : ""}${allDay ? " with-all-day" : ""}" data-board
      data-loaded=${String(model.orders.loaded.value)}>
    ${(title || recall) &&
    html`<div class="board-bar">
      ${title && html`<h2 class="board-title">${t("board.title")}</h2>`}
      ${recall && html`<${RecallButton} live=${live} />`}
    </div>`}
    <div class="board-main">
      <div class="board-columns">
        ${COLUMNS.map(
          (status) => html`<${Column} key=${status} model=${model} settings=${ages} status=${status} orders=${columns[status]} />`,
        )}
      </div>
      ${allDay && html`<${AllDay} live=${live} />`}
    </div>
    <${Finished} model=${model} settings=${ages} orders=${finished} />
    <${RecallDialog} model=${model} settings=${ages} />
  </div>`;
}
