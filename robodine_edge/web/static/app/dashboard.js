// The staff dashboard (`/dashboard`): the store at a glance — the floor map, the orders
// board, the waiting list, robots with their commands, inventory, notifications and
// events, camera tiles, and today's figures. Each panel is its own module; this one
// follows the topics once (one store per topic, shared by the panels) and lays them out
// for a 10-inch tablet (1280x800) and a desktop.
import { useMemo } from "preact/hooks";
import { OrdersBoard, boardModel } from "./board.js";
import { Cameras } from "./cameras.js";
import { EmergencyBar } from "./estop.js";
import { Events, Notifications } from "./feed.js";
import { FloorMap } from "./floor-map.js";
import { addMessages, t } from "./i18n.js";
import { InventoryPanel } from "./inventory-panel.js";
import { KeptStore } from "./kept-store.js";
import { TopicStore } from "./live.js";
import { startPage } from "./page.js";
import { RobotsPanel } from "./robots-panel.js";
import { TodayFigures, TodayStats } from "./stats.js";
import { Header, html } from "./ui.js";
import { WaitingList } from "./waiting-list.js";

addMessages({ en: { "dashboard.title": "Dashboard" }, ko: { "dashboard.title": "대시보드" } });

const KEPT_EVENTS = 100;
const KEPT_COMMANDS = 300;
const KEPT_NOTIFICATIONS = 100;

// One store per topic for the page's life; the socket subscribes each topic once.
export function dashboardStores(live) {
  return {
    tables: boardModel(live).tables, // the board's own: one store of the topic per page
    customers: new KeptStore(live, "customers", "id", { keep: (party) => party.status !== "left" }),
    robots: new TopicStore(live, "robots", "robot_id"),
    inventory: new TopicStore(live, "inventory", "id"),
    events: new KeptStore(live, "events", "id", { limit: KEPT_EVENTS }),
    notifications: new KeptStore(live, "notifications", "id", { limit: KEPT_NOTIFICATIONS }),
    commands: new KeptStore(live, "commands", "id", { limit: KEPT_COMMANDS }),
    cameras: new TopicStore(live, "video_streams", "camera_id"),
    today: new TodayFigures(live),
  };
}

// The emergency stop bar sits in the header, which stays on screen as the page scrolls
// (`data-slot="emergency"`); the orders board (the kitchen screen's, board.js) is a
// full-width row under the map (`data-slot="orders-board"`).
function Dashboard({ session, live }) {
  const stores = useMemo(() => dashboardStores(live), [live]);
  return html`<${Header} title=${t("dashboard.title")} live=${live}>
      <div data-slot="emergency" class="slot-emergency"><${EmergencyBar} live=${live} screen="dashboard" /></div>
    <//>
    <div class="dashboard">
      <${FloorMap} tables=${stores.tables} customers=${stores.customers} robots=${stores.robots} />
      <div class="dash-side">
        <${WaitingList} customers=${stores.customers} tables=${stores.tables} />
        <${Notifications} notifications=${stores.notifications} />
      </div>
      <section data-slot="orders-board" class="dash-board"><${OrdersBoard} live=${live} /></section>
      <${RobotsPanel} robots=${stores.robots} commands=${stores.commands} events=${stores.events} tables=${stores.tables} />
      <${InventoryPanel} inventory=${stores.inventory} />
      <${TodayStats} today=${stores.today} />
      <${Events} events=${stores.events} />
      <${Cameras} cameras=${stores.cameras} token=${session.token} />
    </div>`;
}

startPage({ roles: ["admin", "staff"], component: Dashboard });
