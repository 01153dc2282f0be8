// Keeping the stored session's token fresh, so a page left open (a table's tablet, for
// weeks) never meets an expired one: once half of its life is gone — checked at load, by
// a timer, and when the page is shown again after the device slept — the page asks
// `POST /api/auth/refresh` for a new token and stores it. The old token is not revoked:
// the open socket runs on it until it expires, then reconnects with the new one.
import { api } from "./api.js";
import { loadSession, needsRefresh, refreshDueAt, saveSession } from "./session.js";

const LONGEST_TIMEOUT_MS = 2 ** 31 - 1; // setTimeout fires at once for anything longer
const RETRY_MS = 5 * 60 * 1000; // after a failure that was not a refusal (Wi-Fi down)

export function keepSessionFresh() {
  let timer = null;
  let busy = false;

  const schedule = (session) => {
    clearTimeout(timer);
    const wait = session ? refreshDueAt(session) - Date.now() : RETRY_MS;
    timer = setTimeout(check, Math.min(Math.max(wait, 0), LONGEST_TIMEOUT_MS));
  };

  const check = async () => {
    const session = loadSession();
    if (!session || busy) return; // signed out (the next call goes to sign in), or already asking
    if (!needsRefresh(session)) return schedule(session);
    busy = true;
    try {
      schedule(saveSession(await api("/api/auth/refresh", { method: "POST" })));
    } catch (error) {
      if (error.status !== 401) schedule(null); // a 401 has already sent the page to sign in
    } finally {
      busy = false;
    }
  };

  document.addEventListener("visibilitychange", () => document.hidden || check());
  window.addEventListener("online", check);
  check();
}
