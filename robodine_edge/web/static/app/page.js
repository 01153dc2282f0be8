// Starting a signed-in page: check the session (or go to sign in and come back), keep
// its token fresh, open the live socket, and mount the page's component with both.
import { h, render } from "preact";
import { LiveSocket } from "./live.js";
import { keepSessionFresh } from "./refresh.js";
import { requireSession } from "./session.js";

export function startPage({ roles, component }) {
  const session = requireSession(roles);
  if (!session) return null;
  keepSessionFresh();
  const live = new LiveSocket(session.token);
  live.connect();
  render(h(component, { session, live }), document.getElementById("app"));
  return { session, live };
}
