// The table's orders with their live status, from the `orders` topic (the service sends
// a kiosk its own table's only). Active orders come with the snapshot; an order that is
// served or cancelled while the page is open stays in view, the newest few of them, so
// guests see "Served" rather than a card that vanished. A `placed` order may be
// cancelled, after a question.
import { useSignal } from "@preact/signals";
import { api } from "./api.js";
import { clockTime, money, t } from "./i18n.js";
import { ConfirmDialog } from "./confirm-dialog.js";
import { TopicStore } from "./live.js";
import { html } from "./ui.js";

const STEPS = ["placed", "cooking", "ready", "serving", "served"];
const FINISHED = new Set(["served", "cancelled"]);
const FINISHED_KEPT = 6;

export class TableOrders extends TopicStore {
  constructor(live) {
    super(live, "orders", "id");
  }

  // An order as an HTTP answer gave it, unless the topic already brought a newer state.
  remember(order) {
    const known = this.items.get(order.id);
    if (known && known.updated_at >= order.updated_at) return;
    this.items.set(order.id, order);
    this._changed();
  }

  _apply(message) {
    super._apply(message);
    const finished = this.values().filter((o) => FINISHED.has(o.status)).sort((a, b) => b.id - a.id);
    for (const order of finished.slice(FINISHED_KEPT)) this.items.delete(order.id);
  }

  newestFirst() {
    return this.values().sort((a, b) => b.id - a.id);
  }
}

function Steps({ status }) {
  if (status === "cancelled") return null;
  const at = STEPS.indexOf(status);
  return html`<ol class="order-steps" aria-label=${t("kiosk.order.steps")}>
    ${STEPS.map((step, n) => html`<li key=${step} class=${n < at ? "done" : n === at ? "now" : ""}
      aria-current=${n === at ? "step" : undefined}>${t(`kiosk.status.${step}`)}</li>`)}
  </ol>`;
}

function OrderCard({ order, onCancel }) {
  return html`<li class="card order ${order.status}" data-order-id=${order.id} data-status=${order.status}>
    <div class="order-head">
      <strong>${t("kiosk.order.title", { id: order.id })}</strong>
      <span class="order-status status-${order.status}">${t(`kiosk.status.${order.status}`)}</span>
    </div>
    <span class="muted order-time">${t("kiosk.order.at", { time: clockTime(order.created_at) })}</span>
    <${Steps} status=${order.status} />
    <ul class="order-items">
      ${order.items.map((item, n) => html`<li key=${n}>
        <span>${item.quantity} × ${item.name}</span>${item.note && html`<em class="order-note">${item.note}</em>`}</li>`)}
    </ul>
    <div class="order-foot">
      <strong>${money(order.total)}</strong>
      ${order.status === "placed" && html`<button type="button" data-action="cancel" onClick=${() => onCancel(order)}>
        ${t("kiosk.order.cancel")}</button>`}
    </div>
  </li>`;
}

export function TableOrdersView({ orders }) {
  orders.version.value;
  const asking = useSignal(null); // the order whose cancel is being confirmed
  const problem = useSignal(null);
  const cancel = async (order) => {
    asking.value = null;
    problem.value = null;
    try {
      orders.remember(await api(`/api/orders/${order.id}/cancel`, { method: "POST" }));
    } catch (error) {
      const key = [403, 409].includes(error.status) ? "kiosk.order.cancel.late" : "kiosk.order.cancel.failed";
      problem.value = { key, id: order.id };
    }
  };
  const list = orders.newestFirst();
  return html`<section class="table-orders" aria-labelledby="orders-title">
    <h2 id="orders-title">${t("kiosk.orders")}</h2>
    ${problem.value && html`<p class="alert" role="alert">${t(problem.value.key, problem.value)}</p>`}
    ${list.length === 0
      ? html`<p class="muted">${t("kiosk.orders.empty")}</p>`
      : html`<ul class="orders">${list.map((o) => html`<${OrderCard} key=${o.id} order=${o}
          onCancel=${(picked) => (asking.value = picked)} />`)}</ul>`}
    ${asking.value && html`<${ConfirmDialog} title=${t("kiosk.order.cancel.title", { id: asking.value.id })}
      text=${t("kiosk.order.cancel.text")} yes=${t("kiosk.order.cancel.yes")} no=${t("kiosk.order.cancel.no")}
      action="confirm-cancel" danger=${true} onYes=${() => asking.value && cancel(asking.value)}
      onNo=${() => (asking.value = null)} />`}
  </section>`;
}
