// Calling staff to the table: one tap sends POST /api/tables/{id}/call-staff, and the
// page says "Staff are on their way". Staff get one call however the guests tap: a call
// in flight or made in the last few seconds is not sent again (checked in code, not
// only by disabling the button, which a quick second tap can beat).
import { signal } from "@preact/signals";
import { api } from "./api.js";
import { t } from "./i18n.js";
import { html } from "./ui.js";

export const CALL_AGAIN_AFTER_MS = 10000;
const BELL = html`<svg class="icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
  <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z" />
</svg>`;

export class StaffCall {
  constructor(tableId) {
    this.tableId = tableId;
    this.state = signal("idle"); // "idle" | "sending" | "sent" | "failed"
    this._lastAt = -Infinity;
    this._timer = null;
  }

  call() {
    const now = Date.now();
    if (this.state.value === "sending" || now - this._lastAt < CALL_AGAIN_AFTER_MS) return;
    this._lastAt = now;
    this.state.value = "sending";
    clearTimeout(this._timer);
    api(`/api/tables/${this.tableId}/call-staff`, { method: "POST", body: {} }).then(
      () => {
        this.state.value = "sent";
        this._timer = setTimeout(() => (this.state.value = "idle"), CALL_AGAIN_AFTER_MS);
      },
      () => {
        this._lastAt = -Infinity; // nothing reached staff: the next tap calls at once
        this.state.value = "failed";
      },
    );
  }
}

export function CallStaffButton({ staffCall }) {
  const state = staffCall.state.value;
  const label = state === "sending" ? t("kiosk.call.sending") : t("kiosk.call");
  return html`<div class="call-staff">
    <button type="button" class="call-staff-button" data-action="call-staff" disabled=${state === "sending" || state === "sent"}
      onClick=${() => staffCall.call()}>${BELL} ${label}</button>
    ${state === "sent" && html`<span class="notice ok" role="status" data-call="sent">${t("kiosk.call.sent")}</span>`}
    ${state === "failed" && html`<span class="alert" role="alert" data-call="failed">${t("kiosk.call.failed")}</span>`}
  </div>`;
}
