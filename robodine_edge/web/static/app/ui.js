// What every page shares: htm bound to Preact, the page header (store name, the live
// connection's state, the language switch, sign out), and mounting a page.
import { h, render } from "preact";
import htm from "htm";
import { lang, setLang, t } from "./i18n.js";
import { signOut } from "./session.js";

export const html = htm.bind(h);

export function LanguageSwitch() {
  const other = lang.value === "ko" ? "en" : "ko";
  return html`<button type="button" class="lang-switch" data-action="switch-language" lang=${other}
    aria-label=${t("lang.switch.label")} onClick=${() => setLang(other)}>${t("lang.switch")}</button>`;
}

// "Live" when the socket is open; a visible banner while it reconnects.
export function ConnectionState({ live }) {
  const state = live.state.value;
  return html`<span class="connection ${state}" role="status" data-connection=${state}>${t(`live.${state}`)}</span>`;
}

// Revokes the token on the server; the device is signed out whatever the server says.
export const revoke = (token) => fetch("/api/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } });

export function SignOut() {
  return html`<button type="button" class="quiet" data-action="sign-out" onClick=${() => signOut(revoke)}>
    ${t("session.signout")}</button>`;
}

// `signOutControl` replaces the plain sign-out button (the kiosk's asks staff to confirm).
export function Header({ title, live, children, signOutControl }) {
  return html`<header class="top">
    <h1>${title}</h1>
    <div class="top-tools">${children}${live && html`<${ConnectionState} live=${live} />`}<${LanguageSwitch} />${signOutControl || html`<${SignOut} />`}</div>
  </header>`;
}

export function mount(component) {
  render(h(component, {}), document.getElementById("app"));
}
