// The cart on screen: each line with − / + and a note, the total, and "Place order"
// with what became of the last attempt (placed, or why not) in words.
import { money, t } from "./i18n.js";
import { html } from "./ui.js";

function Line({ line, dish, cart, locked, short }) {
  const name = dish ? dish.name : line.name;
  const soldOut = dish && !dish.available;
  const warning = soldOut ? t("kiosk.cart.line.soldout") : short ? t("kiosk.cart.line.short") : null;
  const id = line.menu_item_id;
  return html`<li class="cart-line ${warning ? "warn" : ""}" data-cart-item-id=${id}>
    <div class="cart-line-head">
      <span class="cart-name">${name}</span>
      <span class="cart-price">${money((dish ? dish.price : line.price) * line.quantity)}</span>
    </div>
    ${warning && html`<span class="cart-warning">${warning}</span>`}
    <div class="cart-line-tools">
      <div class="stepper">
        <button type="button" data-action="less" disabled=${locked} aria-label=${t("kiosk.cart.less", { name })}
          onClick=${() => cart.setQuantity(id, line.quantity - 1)}>−</button>
        <output class="quantity" aria-live="polite">${line.quantity}</output>
        <button type="button" data-action="more" disabled=${locked} aria-label=${t("kiosk.cart.more", { name })}
          onClick=${() => cart.setQuantity(id, line.quantity + 1)}>+</button>
      </div>
      <input class="cart-note" name="note" maxlength="200" disabled=${locked} value=${line.note}
        aria-label=${t("kiosk.cart.note")} placeholder=${t("kiosk.cart.note.placeholder")}
        onInput=${(e) => cart.setNote(id, e.currentTarget.value)} />
    </div>
  </li>`;
}

function Outcome({ outcome }) {
  if (!outcome) return null;
  const text = t(outcome.key, outcome.params);
  return outcome.kind === "placed"
    ? html`<p class="notice ok" role="status" data-outcome="placed">${text}</p>`
    : html`<p class="alert" role="alert" data-outcome="problem">${text}</p>`;
}

export function CartView({ cart, menu, sender }) {
  menu.version.value;
  const lines = cart.lines.value;
  const busy = sender.busy.value;
  const outcome = sender.outcome.value;
  const short = (outcome && outcome.lines) || new Set();
  const priceOf = (id) => menu.get(id)?.price;
  return html`<section class="card cart" aria-labelledby="cart-title">
    <div class="cart-head">
      <h2 id="cart-title">${t("kiosk.cart")}</h2>
      ${lines.length > 0 && html`<button type="button" class="quiet" data-action="clear-cart" disabled=${busy}
        onClick=${() => cart.clear()}>${t("kiosk.cart.clear")}</button>`}
    </div>
    ${lines.length === 0
      ? html`<p class="muted">${t("kiosk.cart.empty")}</p>`
      : html`<ul class="cart-lines">${lines.map((line) => html`<${Line} key=${line.menu_item_id} line=${line}
          dish=${menu.get(line.menu_item_id)} cart=${cart} locked=${busy} short=${short.has(line.menu_item_id)} />`)}</ul>`}
    <${Outcome} outcome=${outcome} />
    <div class="cart-total"><span>${t("kiosk.cart.total")}</span><strong>${money(cart.total(priceOf))}</strong></div>
    <button type="button" class="primary place-order" data-action="place-order" disabled=${busy || lines.length === 0}
      aria-busy=${busy ? "true" : "false"} onClick=${() => sender.place()}>
      ${busy ? t("kiosk.cart.sending") : t("kiosk.cart.place")}</button>
  </section>`;
}
