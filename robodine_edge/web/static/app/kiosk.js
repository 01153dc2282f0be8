// The table's tablet (`/kiosk`): the menu by category with what can be ordered now, a
// cart, placing the order, the table's orders with their live status, and calling
// staff. Everything live comes over the page's one socket (`menu`, `orders`); the one
// HTTP read at load is the table's name.
import { useSignal } from "@preact/signals";
import { useEffect, useMemo } from "preact/hooks";
import { api } from "./api.js";
import { CallStaffButton, StaffCall } from "./call-staff.js";
import { Cart } from "./cart.js";
import { EmergencyNotice } from "./estop.js";
import { CartView } from "./cart-view.js";
import { t } from "./i18n.js";
import { KioskSignOut } from "./kiosk-signout.js";
import "./kiosk-text.js";
import { MenuView, menuStore } from "./menu-view.js";
import { startPage } from "./page.js";
import { OrderSender } from "./place-order.js";
import { TableOrders, TableOrdersView } from "./table-orders.js";
import { Header, html } from "./ui.js";

function useKiosk(live, tableId) {
  return useMemo(() => {
    const menu = menuStore(live);
    const orders = new TableOrders(live);
    const cart = new Cart();
    const nameOf = (id) => menu.get(id)?.name ?? cart.lines.value.find((l) => l.menu_item_id === id)?.name ?? `#${id}`;
    const sender = new OrderSender(cart, tableId, { nameOf, onPlaced: (order) => orders.remember(order) });
    return { menu, orders, cart, sender, staffCall: new StaffCall(tableId) };
  }, []);
}

function Kiosk({ session, live }) {
  const tableId = session.user.table_id;
  const { menu, orders, cart, sender, staffCall } = useKiosk(live, tableId);
  const tableName = useSignal(String(tableId));
  useEffect(() => {
    api(`/api/tables/${tableId}`).then((table) => (tableName.value = table.name), () => {});
  }, []);
  return html`<${Header} title=${t("kiosk.title", { table: tableName.value })} live=${live}
      signOutControl=${html`<${KioskSignOut} />`}>
      <${CallStaffButton} staffCall=${staffCall} />
    </${Header}>
    <${EmergencyNotice} live=${live} />
    <div class="kiosk">
      <section class="kiosk-menu" aria-label=${t("kiosk.menu")}>
        <${MenuView} menu=${menu} cart=${cart} locked=${sender.busy.value} />
      </section>
      <aside class="kiosk-side">
        <${CartView} cart=${cart} menu=${menu} sender=${sender} />
        <${TableOrdersView} orders=${orders} />
      </aside>
    </div>`;
}

startPage({ roles: ["kiosk"], component: Kiosk });
