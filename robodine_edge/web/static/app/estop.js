// The emergency stop, on every staff screen: a button that is always there (one tap
// stops every robot: POST /api/emergencies), and while an emergency lasts a banner with
// its reason and since when, and "resume" — which asks first, in the page, and needs a
// second, explicit "Yes, resume robots" (an emergency stop latches). Screens learn of an
// emergency from the `emergencies` topic, so a stop pressed on one shows on all at once.
//
// `EmergencyBar` is the staff's (dashboard, kitchen); `EmergencyNotice` is the read-only
// banner for a table's tablet.
import { signal } from "@preact/signals";
import { api } from "./api.js";
import { ConfirmDialog } from "./confirm.js";
import { addMessages, clockTime, t } from "./i18n.js";
import { TopicStore } from "./live.js";
import { html } from "./ui.js";

addMessages({
  en: {
    "estop.stop": "Stop all robots",
    "estop.stopped": "Robots stopped",
    "estop.stopping": "Stopping…",
    "estop.banner": "Emergency stop: every robot is stopped",
    "estop.reason": "Reason: {reason}",
    "estop.since": "Since {time} ({minutes} min)",
    "estop.resume": "Resume robots…",
    "estop.confirm.title": "Resume every robot?",
    "estop.confirm.message": "Check that the floor is safe first: the robots carry on with their tasks.",
    "estop.confirm.yes": "Yes, resume robots",
    "estop.confirm.no": "Keep them stopped",
    "estop.failed": "The robots could not be stopped: {message}",
    "estop.resume.failed": "The robots could not be resumed: {message}",
    "estop.reason.screen": "stop button on the {screen} screen",
    "estop.screen.kitchen": "kitchen",
    "estop.screen.dashboard": "dashboard",
    "estop.notice": "The robots are paused for a moment. Staff will be with you shortly.",
  },
  ko: {
    "estop.stop": "로봇 모두 정지",
    "estop.stopped": "로봇 정지됨",
    "estop.stopping": "정지하는 중…",
    "estop.banner": "비상 정지: 모든 로봇이 멈췄습니다",
    "estop.reason": "사유: {reason}",
    "estop.since": "{time}부터 ({minutes}분째)",
    "estop.resume": "로봇 다시 움직이기…",
    "estop.confirm.title": "모든 로봇을 다시 움직일까요?",
    "estop.confirm.message": "먼저 매장이 안전한지 확인하세요. 로봇이 하던 작업을 이어서 합니다.",
    "estop.confirm.yes": "네, 로봇 재개",
    "estop.confirm.no": "정지 유지",
    "estop.failed": "로봇을 정지하지 못했습니다: {message}",
    "estop.resume.failed": "로봇을 다시 움직이지 못했습니다: {message}",
    "estop.reason.screen": "{screen} 화면의 정지 버튼",
    "estop.screen.kitchen": "주방",
    "estop.screen.dashboard": "대시보드",
    "estop.notice": "로봇이 잠시 멈췄습니다. 곧 직원이 도와드리겠습니다.",
  },
});

class EmergencyModel {
  constructor(live) {
    this.store = new TopicStore(live, "emergencies", "id");
    this.answered = signal(new Map()); // what our own POSTs answered, until the topic says it
    live.follow("emergencies", (message) => this._heard(message));
    this.busy = signal(false);
    this.asking = signal(false);
    this.error = signal(null);
    this.now = signal(Date.now()); // for "since … (N min)"; a local timer, not a request
    setInterval(() => (this.now.value = Date.now()), 15000);
  }

  // The active emergency, if any: the topic's, or what our own request was just answered
  // and the topic has not said yet (the socket may be reconnecting).
  active() {
    this.store.version.value;
    const known = new Map(this.store.items);
    for (const [id, answer] of this.answered.value) known.set(id, answer);
    const active = Array.from(known.values()).filter((e) => e.active);
    return active.sort((a, b) => b.id - a.id)[0] || null;
  }

  // The topic is the truth once it speaks: of that emergency (an upsert), or of all (a
  // snapshot, e.g. after a reconnect, when another screen may have resolved it).
  _heard(message) {
    const answered = this.answered.value;
    if (!answered.size) return;
    if (message.type === "snapshot") this.answered.value = new Map();
    else if (answered.has(message.data.id)) {
      const rest = new Map(answered);
      rest.delete(message.data.id);
      this.answered.value = rest;
    }
  }

  _remember(emergency) {
    this.answered.value = new Map(this.answered.value).set(emergency.id, emergency);
  }

  async stop(screen) {
    this.busy.value = true;
    this.error.value = null;
    try {
      const reason = t("estop.reason.screen", { screen: t(`estop.screen.${screen}`) });
      this._remember(await api("/api/emergencies", { method: "POST", body: { reason } }));
    } catch (error) {
      // 409: one is already active (another screen was quicker): the banner shows it.
      if (error.status !== 409) this.error.value = t("estop.failed", { message: error.message });
    } finally {
      this.busy.value = false;
    }
  }

  async resolve(emergency) {
    this.asking.value = false;
    this.busy.value = true;
    this.error.value = null;
    try {
      this._remember(await api(`/api/emergencies/${emergency.id}/resolve`, { method: "POST" }));
    } catch (error) {
      // 409: already resolved elsewhere; the topic clears the banner.
      if (error.status !== 409) this.error.value = t("estop.resume.failed", { message: error.message });
    } finally {
      this.busy.value = false;
    }
  }
}

const models = new WeakMap();

export function emergencyModel(live) {
  let model = models.get(live);
  if (!model) {
    model = new EmergencyModel(live);
    models.set(live, model);
  }
  return model;
}

function minutesSince(iso, now) {
  return Math.max(0, Math.floor((now - Date.parse(iso)) / 60000));
}

function Banner({ emergency, now, children }) {
  return html`<div class="estop-banner" role="alert" data-emergency="active" data-emergency-id=${emergency.id}>
    <strong class="estop-title">⚠ ${t("estop.banner")}</strong>
    ${emergency.reason && html`<span class="estop-reason">${t("estop.reason", { reason: emergency.reason })}</span>`}
    <span class="estop-since">${t("estop.since", { time: clockTime(emergency.created_at), minutes: minutesSince(emergency.created_at, now) })}</span>
    ${children}
  </div>`;
}

// `screen` names the page in the emergency's reason ("kitchen", "dashboard").
export function EmergencyBar({ live, screen }) {
  const model = emergencyModel(live);
  const active = model.active();
  const busy = model.busy.value;
  const asking = model.asking.value && !!active;
  return html`<section class="estop${active ? " active" : ""}" data-estop>
    ${active &&
    html`<${Banner} emergency=${active} now=${model.now.value}>
      ${!asking &&
      html`<button type="button" class="estop-resume" data-action="emergency-resolve" disabled=${busy}
        onClick=${() => (model.asking.value = true)}>${t("estop.resume")}</button>`}
    </${Banner}>`}
    <button type="button" class="estop-button" data-action="emergency-stop" disabled=${busy || !!active}
      aria-pressed=${String(!!active)} onClick=${() => model.stop(screen || document.body.dataset.page)}>
      ${active ? t("estop.stopped") : busy ? t("estop.stopping") : t("estop.stop")}</button>
    ${model.error.value && html`<p class="alert estop-error" role="alert">${model.error.value}</p>`}
    ${asking &&
    html`<${ConfirmDialog} action="emergency-resolve" title=${t("estop.confirm.title")} message=${t("estop.confirm.message")}
      yes=${t("estop.confirm.yes")} no=${t("estop.confirm.no")} danger=${false}
      onYes=${() => model.resolve(active)} onNo=${() => (model.asking.value = false)} />`}
  </section>`;
}

// For a table's tablet: that the robots are paused, nothing to press.
export function EmergencyNotice({ live }) {
  const active = emergencyModel(live).active();
  if (!active) return null;
  return html`<div class="estop-notice" role="status" data-emergency="active">${t("estop.notice")}</div>`;
}
