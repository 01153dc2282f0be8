// Sign in (`/`): username and password; staff and admin go to the dashboard, kiosks to
// their table's page, or back to the page that sent them here (`?next=`).
import { useSignal } from "@preact/signals";
import { api } from "./api.js";
import { addMessages, t } from "./i18n.js";
import { homeOf, loadSession, saveSession } from "./session.js";
import { LanguageSwitch, html, mount } from "./ui.js";

addMessages({
  en: {
    "signin.title": "Sign in",
    "signin.username": "Username",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.busy": "Signing in…",
    "signin.refused": "Wrong username or password.",
    "signin.limited": "Too many attempts. Wait a minute, then try again.",
    "signin.missing": "Enter your username and password.",
  },
  ko: {
    "signin.title": "로그인",
    "signin.username": "아이디",
    "signin.password": "비밀번호",
    "signin.submit": "로그인",
    "signin.busy": "로그인 중…",
    "signin.refused": "아이디 또는 비밀번호가 맞지 않습니다.",
    "signin.limited": "시도가 너무 많습니다. 1분 뒤에 다시 시도하세요.",
    "signin.missing": "아이디와 비밀번호를 입력하세요.",
  },
});

const PAGE_ROLES = { "/dashboard": ["admin", "staff"], "/kitchen": ["admin", "staff"], "/kiosk": ["kiosk"] };

// Where to go after sign in: `next` when it is one of our pages this role may open.
export function destination(role, next) {
  if (next && next.startsWith("/") && !next.startsWith("//")) {
    const path = next.split(/[?#]/)[0];
    if ((PAGE_ROLES[path] || []).includes(role)) return next;
  }
  return homeOf(role);
}

function SignIn() {
  const username = useSignal("");
  const password = useSignal("");
  const problem = useSignal(null);
  const busy = useSignal(false);
  const next = new URLSearchParams(location.search).get("next");

  const submit = async (event) => {
    event.preventDefault();
    if (!username.value || !password.value) {
      problem.value = { key: "signin.missing" };
      return;
    }
    busy.value = true;
    problem.value = null;
    try {
      const login = await api("/api/auth/login", {
        method: "POST",
        body: { username: username.value, password: password.value },
        signInOn401: false,
      });
      saveSession(login);
      location.replace(destination(login.user.role, next));
    } catch (error) {
      const key = { 401: "signin.refused", 429: "signin.limited", 0: "error.network" }[error.status] || "error.generic";
      problem.value = { key, message: error.message };
      busy.value = false;
    }
  };

  return html`<div class="signin">
    <div class="signin-tools"><${LanguageSwitch} /></div>
    <form class="card signin-card" onSubmit=${submit} novalidate>
      <h1>${t("signin.title")}</h1>
      <label>${t("signin.username")}
        <input name="username" autocomplete="username" autocapitalize="none" autofocus
          value=${username.value} onInput=${(e) => (username.value = e.currentTarget.value)} /></label>
      <label>${t("signin.password")}
        <input name="password" type="password" autocomplete="current-password"
          value=${password.value} onInput=${(e) => (password.value = e.currentTarget.value)} /></label>
      ${problem.value && html`<p class="alert" role="alert">${t(problem.value.key, problem.value)}</p>`}
      <button type="submit" class="primary" disabled=${busy.value}>${busy.value ? t("signin.busy") : t("signin.submit")}</button>
    </form>
  </div>`;
}

const existing = loadSession();
const next = new URLSearchParams(location.search).get("next");
if (existing && !next) location.replace(homeOf(existing.user.role));
else mount(SignIn);
