// Inventory: every item with its count against its shelf target, out of stock and low
// first and marked in words, and a restock control in each row — empty, it fills the
// shelf to its target; with an amount, it adds that.
import { Component } from "preact";
import { useSignal } from "@preact/signals";
import { api } from "./api.js";
import { Problem, useAction } from "./act.js";
import { addMessages, lang, t } from "./i18n.js";
import { html } from "./ui.js";
import { stockStatus } from "./words.js";

addMessages({
  en: {
    "stock.title": "Inventory",
    "stock.summary": "{out} out · {low} low",
    "stock.none": "No inventory items yet.",
    "stock.count": "{count} {unit}",
    "stock.target": "of {max}",
    "stock.amount": "Amount to add to {name}",
    "stock.restock": "Restock +{n}",
    "stock.full": "At its target",
    "stock.done": "+{n} {unit}",
  },
  ko: {
    "stock.title": "재고",
    "stock.summary": "품절 {out} · 부족 {low}",
    "stock.none": "재고 품목이 없습니다.",
    "stock.count": "{count} {unit}",
    "stock.target": "/ {max}",
    "stock.amount": "{name}에 더할 양",
    "stock.restock": "채우기 +{n}",
    "stock.full": "목표량 채움",
    "stock.done": "+{n} {unit}",
  },
});

const ORDER = { out_of_stock: 0, low_stock: 1, in_stock: 2 };

export function InventoryPanel({ inventory }) {
  inventory.version.value;
  lang.value;
  const items = inventory
    .values()
    .sort((a, b) => (ORDER[a.status] ?? 3) - (ORDER[b.status] ?? 3) || a.name.localeCompare(b.name));
  const out = items.filter((item) => item.status === "out_of_stock").length;
  const low = items.filter((item) => item.status === "low_stock").length;
  return html`<section class="card dash-inventory" data-inventory aria-labelledby="stock-title">
    <div class="card-head"><h2 id="stock-title">${t("stock.title")}</h2>
      <span class=${out || low ? "pill low_stock" : "muted"}>${t("stock.summary", { out, low })}</span></div>
    ${items.length === 0 && html`<p class="muted">${t("stock.none")}</p>`}
    <ul class="stock-rows">
      ${items.map((item) => html`<${StockRow} key=${item.id} item=${item} lang=${lang.value} />`)}
    </ul>
  </section>`;
}

class StockRow extends Component {
  shouldComponentUpdate(next) {
    return next.item !== this.props.item || next.lang !== this.props.lang;
  }

  render({ item }) {
    return html`<${StockRowBody} item=${item} />`;
  }
}

function StockRowBody({ item }) {
  const action = useAction();
  const amount = useSignal("");
  const added = useSignal(null);
  const typed = Number.parseInt(amount.value, 10);
  const quantity = typed > 0 ? typed : Math.max(item.max_count - item.count, 0);
  const restock = (event) => {
    event.preventDefault();
    if (quantity < 1) return;
    added.value = null;
    action.run(async () => {
      await api(`/api/inventory/${item.id}/restock`, { method: "POST", body: { quantity } });
      amount.value = "";
      added.value = quantity;
    });
  };
  const share = item.max_count > 0 ? Math.min(100, (item.count / item.max_count) * 100) : item.count > 0 ? 100 : 0;
  return html`<li class="stock-row stock-${item.status}" data-inventory-id=${item.id} data-status=${item.status}>
    <div class="stock-what">
      <strong>${item.name}</strong>
      <span class="pill ${item.status}">${stockStatus(item.status)}</span>
    </div>
    <div class="stock-level">
      <span class="stock-count" data-count=${item.count}>${t("stock.count", { count: item.count, unit: item.unit })}</span>
      <span class="muted">${t("stock.target", { max: item.max_count })}</span>
      <span class="stock-bar"><span class="stock-fill" style=${{ width: `${share}%` }}></span></span>
    </div>
    <form class="stock-restock" onSubmit=${restock}>
      <input name="quantity" type="number" min="1" inputmode="numeric" placeholder=${quantity > 0 ? String(quantity) : ""}
        aria-label=${t("stock.amount", { name: item.name })} value=${amount.value}
        onInput=${(e) => (amount.value = e.currentTarget.value)} />
      <button type="submit" data-action="restock" disabled=${action.busy.value || quantity < 1}>
        ${quantity > 0 ? t("stock.restock", { n: quantity }) : t("stock.full")}</button>
    </form>
    ${added.value && html`<span class="muted stock-added" role="status">${t("stock.done", { n: added.value, unit: item.unit })}</span>`}
    <${Problem} action=${action} />
  </li>`;
}
