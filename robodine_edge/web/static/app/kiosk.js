// The table's tablet (`/kiosk`): menu, cart, the table's orders, calling staff.
import { addMessages, t } from "./i18n.js";
import { startPage } from "./page.js";
import { Header, html } from "./ui.js";

addMessages({ en: { "kiosk.title": "Table {table}" }, ko: { "kiosk.title": "{table}번 테이블" } });

function Kiosk({ session, live }) {
  return html`<${Header} title=${t("kiosk.title", { table: session.user.table_id ?? "?" })} live=${live} />`;
}

startPage({ roles: ["kiosk"], component: Kiosk });
