// The kitchen display (`/kitchen`): the orders board alone, for a wall screen, and the
// emergency stop.
import { EmergencyBar } from "./estop.js";
import { addMessages, t } from "./i18n.js";
import { startPage } from "./page.js";
import { Header, html } from "./ui.js";

addMessages({ en: { "kitchen.title": "Kitchen" }, ko: { "kitchen.title": "주방" } });

function Kitchen({ live }) {
  return html`<div class="kitchen">
    <${Header} title=${t("kitchen.title")} live=${live} />
    <${EmergencyBar} live=${live} screen="kitchen" />
  </div>`;
}

startPage({ roles: ["admin", "staff"], component: Kitchen });
