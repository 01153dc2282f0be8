// What happened: the signed-in user's notifications (unread first counted, marked read
// one by one or all at once; every screen of theirs sees it, through the topic) and the
// store's latest events, each with its level in words.
import { api } from "./api.js";
import { Problem, useAction } from "./act.js";
import { addMessages, clockTime, lang, t } from "./i18n.js";
import { ago, minute } from "./since.js";
import { html } from "./ui.js";
import { eventType, levelWord } from "./words.js";

addMessages({
  en: {
    "notes.title": "Notifications",
    "notes.unread": "{n} unread",
    "notes.none": "No notifications.",
    "notes.read": "Mark read",
    "notes.allRead": "Mark all read",
    "notes.isRead": "read",
    "events.title": "Latest events",
    "events.none": "No events yet.",
  },
  ko: {
    "notes.title": "알림",
    "notes.unread": "안 읽음 {n}",
    "notes.none": "알림이 없습니다.",
    "notes.read": "읽음",
    "notes.allRead": "모두 읽음",
    "notes.isRead": "읽음",
    "events.title": "최근 기록",
    "events.none": "기록이 없습니다.",
  },
});

const SHOWN_NOTES = 30;
const SHOWN_EVENTS = 40;

export function Notifications({ notifications }) {
  notifications.version.value;
  lang.value;
  minute.value;
  const action = useAction();
  const all = notifications.newest();
  const unread = all.filter((note) => !note.read);
  const markAll = () =>
    action.run(async () => {
      for (const note of unread) await api(`/api/notifications/${note.id}/read`, { method: "POST" });
    });
  return html`<section class="card dash-notes" data-notifications aria-labelledby="notes-title">
    <div class="card-head"><h2 id="notes-title">${t("notes.title")}
      <span class=${unread.length ? "badge" : "badge quiet"} data-unread=${unread.length}>${t("notes.unread", { n: unread.length })}</span></h2>
      ${unread.length > 1 &&
      html`<button type="button" data-action="mark-all-read" disabled=${action.busy.value} onClick=${markAll}>${t("notes.allRead")}</button>`}
    </div>
    <${Problem} action=${action} />
    ${all.length === 0 && html`<p class="muted">${t("notes.none")}</p>`}
    <ul class="feed-rows">
      ${all.slice(0, SHOWN_NOTES).map((note) => html`<${Note} key=${note.id} note=${note} />`)}
    </ul>
  </section>`;
}

function Note({ note }) {
  const action = useAction();
  const read = () => action.run(() => api(`/api/notifications/${note.id}/read`, { method: "POST" }));
  return html`<li class="feed-row note${note.read ? " read" : " unread"}" data-notification-id=${note.id} data-read=${String(note.read)}>
    <div class="feed-text">
      <strong>${eventType(note.type)}</strong>
      <span>${note.message}</span>
      <span class="muted" title=${clockTime(note.created_at)}>${ago(note.created_at)}</span>
    </div>
    ${note.read
      ? html`<span class="muted">${t("notes.isRead")}</span>`
      : html`<button type="button" data-action="mark-read" disabled=${action.busy.value} onClick=${read}>${t("notes.read")}</button>`}
    <${Problem} action=${action} />
  </li>`;
}

export function Events({ events }) {
  events.version.value;
  lang.value;
  return html`<section class="card dash-events" data-events aria-labelledby="events-title">
    <h2 id="events-title">${t("events.title")}</h2>
    ${events.items.size === 0 && html`<p class="muted">${t("events.none")}</p>`}
    <ul class="feed-rows">
      ${events.newest(SHOWN_EVENTS).map(
        (event) => html`<li key=${event.id} class="feed-row event level-${event.level}" data-event-id=${event.id} data-level=${event.level}>
          <span class="pill level-${event.level}">${levelWord(event.level)}</span>
          <div class="feed-text"><strong>${eventType(event.type)}</strong><span>${event.message}</span></div>
          <time class="muted" datetime=${event.created_at}>${clockTime(event.created_at)}</time>
        </li>`,
      )}
    </ul>
  </section>`;
}
