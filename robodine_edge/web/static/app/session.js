// Who is signed in on this device: the access token and its user, kept in localStorage
// so a kiosk stays signed in across reloads and restarts of its tablet until someone
// signs it out. A page that needs a session sends the browser to the sign-in page with
// `?next=` and comes back after sign in.
const SESSION_KEY = "robodine.session";
const REFRESH_AT = 0.5; // refresh a token once half of its life is gone

export function loadSession() {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    if (saved && saved.token && saved.expiresAt > Date.now()) return saved;
  } catch {
    // a damaged entry is no session
  }
  return null;
}

export function saveSession(login) {
  const now = Date.now();
  const session = {
    token: login.access_token,
    user: login.user,
    issuedAt: now,
    expiresAt: now + login.expires_in * 1000,
  };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

export function homeOf(role) {
  return role === "kiosk" ? "/kiosk" : "/dashboard";
}

let leaving = false;

// Sign out of this device: the session is forgotten at once (a socket closed by the
// token's revocation must not send the page to sign in with `?next=` meanwhile).
export function signOut(revoke) {
  const session = loadSession();
  leaving = true;
  clearSession();
  const done = () => location.replace("/");
  (session ? revoke(session.token) : Promise.resolve()).then(done, done);
}

export function toSignIn() {
  if (leaving) return;
  clearSession();
  const next = location.pathname + location.search;
  location.replace(`/?next=${encodeURIComponent(next)}`);
}

// The session if its role may use this page; otherwise the browser is sent to sign in
// (no session) or to the user's own page (another role), and null is returned.
export function requireSession(roles) {
  const session = loadSession();
  if (!session) {
    toSignIn();
    return null;
  }
  if (!roles.includes(session.user.role)) {
    location.replace(homeOf(session.user.role));
    return null;
  }
  return session;
}

// When half of the session's token life is gone (ms since the epoch).
export function refreshDueAt(session) {
  return session.issuedAt + (session.expiresAt - session.issuedAt) * REFRESH_AT;
}

export function needsRefresh(session) {
  return Date.now() >= refreshDueAt(session);
}
