// The HTTP API as the pages use it: JSON in and out, the session's bearer token, and
// the API's error body ({"error": {"code", "message", "fields"?}}) as an ApiError.
import { loadSession, toSignIn } from "./session.js";

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || null;
  }
}

export async function api(path, { method = "GET", body, headers = {}, signInOn401 = true } = {}) {
  const session = loadSession();
  const sent = { ...headers };
  if (session) sent.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "network", String(error));
  }
  if (response.status === 401 && signInOn401 && session) {
    toSignIn();
    throw new ApiError(401, "unauthorized", "signed out");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText, error.fields);
  }
  return data;
}

// A new Idempotency-Key. crypto.randomUUID needs a secure context (https or localhost),
// which a tablet opening http://<pi>:8000 is not; getRandomValues works everywhere.
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
