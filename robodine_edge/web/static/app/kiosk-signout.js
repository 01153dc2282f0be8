// Signing a table's tablet out is for staff, and deliberate: the tablet belongs to the
// guests, who must not end its session by a stray tap. "Sign out" asks first, in the
// page, saying what it does; only the confirming button signs out (and revokes the token).
import { useSignal } from "@preact/signals";
import { t } from "./i18n.js";
import { ConfirmDialog } from "./confirm-dialog.js";
import { signOut } from "./session.js";
import { html, revoke } from "./ui.js";

export function KioskSignOut() {
  const asking = useSignal(false);
  return html`<button type="button" class="quiet" data-action="sign-out" onClick=${() => (asking.value = true)}>
      ${t("session.signout")}</button>
    ${asking.value && html`<${ConfirmDialog} title=${t("kiosk.signout.title")} text=${t("kiosk.signout.text")}
      yes=${t("kiosk.signout.yes")} no=${t("kiosk.signout.no")} action="confirm-sign-out" danger=${true}
      onYes=${() => signOut(revoke)} onNo=${() => (asking.value = false)} />`}`;
}
