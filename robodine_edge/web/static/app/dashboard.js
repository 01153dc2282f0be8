// The staff dashboard (`/dashboard`): the store at a glance.
import { addMessages, t } from "./i18n.js";
import { startPage } from "./page.js";
import { Header, html } from "./ui.js";

addMessages({ en: { "dashboard.title": "Dashboard" }, ko: { "dashboard.title": "대시보드" } });

function Dashboard({ live }) {
  return html`<${Header} title=${t("dashboard.title")} live=${live} />`;
}

startPage({ roles: ["admin", "staff"], component: Dashboard });
