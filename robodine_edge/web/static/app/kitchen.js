// The kitchen display (`/kitchen`): the orders board alone, in large type for a wall
// screen, with the all-day counts beside it, recall, a sound on every new ticket once
// someone taps "start" (browsers play sound only after a gesture), and the emergency stop.
import { Chime, watchNewTickets } from "./chime.js";
import { EmergencyBar } from "./estop.js";
import { addMessages, t } from "./i18n.js";
import { OrdersBoard, RecallButton } from "./board.js";
import { startPage } from "./page.js";
import { Header, html } from "./ui.js";

addMessages({
  en: {
    "kitchen.title": "Kitchen",
    "kitchen.sound.start": "Start: sound on",
    "kitchen.sound.on": "Sound on",
    "kitchen.sound.unavailable": "No sound on this screen",
    "kitchen.sound.hint.on": "A chime rings for every new ticket. Tap to mute.",
    "kitchen.sound.hint.off": "Tap once so this screen can chime for every new ticket.",
  },
  ko: {
    "kitchen.title": "주방",
    "kitchen.sound.start": "시작: 알림음 켜기",
    "kitchen.sound.on": "알림음 켜짐",
    "kitchen.sound.unavailable": "이 화면은 소리를 낼 수 없습니다",
    "kitchen.sound.hint.on": "새 주문마다 알림음이 울립니다. 누르면 꺼집니다.",
    "kitchen.sound.hint.off": "한 번 누르면 새 주문마다 알림음이 울립니다.",
  },
});

const chime = new Chime();

function SoundButton() {
  const state = chime.state.value;
  const label = state === "on" ? "kitchen.sound.on" : state === "unavailable" ? "kitchen.sound.unavailable" : "kitchen.sound.start";
  return html`<button type="button" class="sound ${state}" data-action="start-sound" data-sound=${state}
      data-chimes=${chime.rung.value} aria-pressed=${String(state === "on")} disabled=${state === "unavailable"}
      title=${t(state === "on" ? "kitchen.sound.hint.on" : "kitchen.sound.hint.off")} onClick=${() => chime.toggle()}>
    ♪ ${t(label)}</button>`;
}

function Kitchen({ live }) {
  return html`<div class="kitchen">
    <${Header} title=${t("kitchen.title")} live=${live}><${SoundButton} /><${RecallButton} live=${live} /></${Header}>
    <${EmergencyBar} live=${live} screen="kitchen" />
    <${OrdersBoard} live=${live} large=${true} allDay=${true} recall=${false} title=${false} />
  </div>`;
}

const started = startPage({ roles: ["admin", "staff"], component: Kitchen });
if (started) watchNewTickets(started.live, () => chime.ring());
