// The menu as the guest sees it: dishes by category, live from the `menu` topic. A dish
// that cannot be ordered now (sold out, or switched off by staff) stays on the menu,
// greyed with the reason, and comes back by itself when it is restocked.
import { TopicStore } from "./live.js";
import { money, t } from "./i18n.js";
import { categoryName } from "./kiosk-text.js";
import { html } from "./ui.js";

export function menuStore(live) {
  return new TopicStore(live, "menu", "id");
}

// The menu's order: by `position` where the menu gives one, else by id (oldest first).
export function menuOrder(a, b) {
  const byPosition = (a.position ?? Infinity) - (b.position ?? Infinity);
  return Number.isNaN(byPosition) || byPosition === 0 ? a.id - b.id : byPosition;
}

// [{category, dishes}], categories in the order of their first dish.
export function byCategory(dishes) {
  const groups = new Map();
  for (const dish of [...dishes].sort(menuOrder)) {
    if (!groups.has(dish.category)) groups.set(dish.category, []);
    groups.get(dish.category).push(dish);
  }
  return Array.from(groups, ([category, list]) => ({ category, dishes: list }));
}

const sectionId = (category) => `menu-${encodeURIComponent(category)}`;

function CategoryBar({ groups }) {
  const jump = (category) => document.getElementById(sectionId(category))?.scrollIntoView({ block: "start" });
  return html`<nav class="menu-categories" aria-label=${t("kiosk.menu")}>
    ${groups.map(({ category }) => html`<button type="button" key=${category} onClick=${() => jump(category)}>
      ${categoryName(category)}</button>`)}
  </nav>`;
}

function Dish({ dish, count, locked, onAdd }) {
  const why = dish.available ? null : dish.sold_out ? t("kiosk.dish.soldout") : t("kiosk.dish.off");
  return html`<li class="dish ${dish.available ? "" : "unavailable"}" data-menu-item-id=${dish.id}
      data-available=${String(dish.available)}>
    <div class="dish-text">
      <span class="dish-name">${dish.name}</span>
      <span class="dish-price">${money(dish.price)}</span>
    </div>
    ${why && html`<span class="dish-why" role="note">${why}</span>`}
    ${count > 0 && html`<span class="dish-count">${t("kiosk.dish.incart", { count })}</span>`}
    <button type="button" class="primary dish-add" data-action="add" disabled=${!dish.available || locked}
      aria-label=${t("kiosk.dish.add.label", { name: dish.name })} onClick=${() => onAdd(dish)}>
      ${dish.available ? `+ ${t("kiosk.dish.add")}` : why}</button>
  </li>`;
}

export function MenuView({ menu, cart, locked }) {
  menu.version.value; // re-render on every change of the menu
  if (!menu.loaded.value) return html`<p class="muted kiosk-empty">${t("kiosk.menu.loading")}</p>`;
  const groups = byCategory(menu.values());
  if (!groups.length) return html`<p class="muted kiosk-empty">${t("kiosk.menu.empty")}</p>`;
  const counts = cart.counts();
  return html`<div class="menu">
    <${CategoryBar} groups=${groups} />
    ${groups.map(({ category, dishes }) => html`<section class="menu-section" key=${category} id=${sectionId(category)}>
      <h2>${categoryName(category)}</h2>
      <ul class="dishes">
        ${dishes.map((dish) => html`<${Dish} key=${dish.id} dish=${dish} count=${counts.get(dish.id) || 0}
          locked=${locked} onAdd=${(d) => cart.add(d)} />`)}
      </ul>
    </section>`)}
  </div>`;
}
