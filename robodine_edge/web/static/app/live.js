// The store, live, over one `/ws` socket: authenticate, subscribe to topics, apply each
// topic's snapshot / upsert / delete messages. After a drop the socket reconnects (with
// a growing, jittered delay) and re-subscribes every topic with `since=<last seq>`, so
// only what was missed is sent (or a fresh snapshot when the server no longer has it).
// A ping every 20 s finds a dead Wi-Fi link that the browser would not notice.
// Each connection uses the freshest token stored (the page refreshes it, refresh.js); a
// socket closed because its older token expired (4401) reconnects with the new one.
import { signal } from "@preact/signals";
import { loadSession, toSignIn } from "./session.js";

const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 10000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10000;

export class LiveSocket {
  constructor(token) {
    this.token = token;
    this.state = signal("connecting"); // "connecting" | "open" | "reconnecting"
    this.topics = new Map(); // topic -> {seq, handlers, subscription}
    this.bySubscription = new Map(); // subscription id -> topic
    this.nextId = 1;
    this.ws = null;
    this.retryMs = RETRY_MIN_MS;
    this.pingTimer = null;
    this.pongTimer = null;
    this.closed = false;
  }

  // Call `handler(message)` for every message of `topic` (the first is a snapshot).
  // A handler that joins a topic already under way asks for a fresh snapshot, which
  // every handler of the topic takes as the whole state (so none is left without one).
  follow(topic, handler) {
    let entry = this.topics.get(topic);
    if (!entry) {
      entry = { seq: null, handlers: new Set(), subscription: null };
      this.topics.set(topic, entry);
      if (this.state.value === "open") this._subscribe(topic, entry);
    } else if (entry.seq !== null && this.state.value === "open") {
      entry.seq = null;
      this._resubscribe(topic, entry);
    }
    entry.handlers.add(handler);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const token = (loadSession() || { token: this.token }).token;
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    this.token = token;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
    ws.onmessage = (event) => this._receive(JSON.parse(event.data));
    ws.onclose = (event) => this._closed(ws, event);
  }

  close() {
    this.closed = true;
    this._stopPings();
    if (this.ws) this.ws.close(1000);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ id: this.nextId++, ...message }));
  }

  _receive(message) {
    if (message.type === "auth_ok") {
      this.state.value = "open";
      this.retryMs = RETRY_MIN_MS;
      this.bySubscription.clear();
      for (const [topic, entry] of this.topics) this._subscribe(topic, entry);
      this._startPings();
      return;
    }
    if (message.type === "auth_invalid") {
      if (!this._newerToken()) toSignIn(); // else the 4401 close that follows reconnects with it
      return;
    }
    if (message.type === "pong") return clearTimeout(this.pongTimer);
    if (message.type === "result") return;
    const topic = this.bySubscription.get(message.id);
    const entry = topic && this.topics.get(topic);
    if (!entry) return;
    if (message.type !== "snapshot" && entry.seq !== null && message.seq !== entry.seq + 1) {
      this._resubscribe(topic, entry); // a gap: ask again from what we have
      return;
    }
    entry.seq = message.seq;
    for (const handler of entry.handlers) handler(message);
  }

  _subscribe(topic, entry) {
    const id = this.nextId++;
    entry.subscription = id;
    this.bySubscription.set(id, topic);
    const request = { id, type: "subscribe", topic };
    if (entry.seq !== null) request.since = entry.seq;
    this.ws.send(JSON.stringify(request));
  }

  _resubscribe(topic, entry) {
    this.bySubscription.delete(entry.subscription);
    this.send({ type: "unsubscribe", subscription: entry.subscription });
    this._subscribe(topic, entry);
  }

  _closed(ws, event) {
    if (ws !== this.ws) return;
    this._stopPings();
    if (this.closed) return;
    if (event.code === 4401 && !this._newerToken()) return toSignIn();
    this.state.value = "reconnecting";
    const delay = this.retryMs * (0.5 + Math.random());
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    setTimeout(() => this.connect(), delay);
  }

  // Whether a token other than the one this socket used is stored (refreshed meanwhile).
  _newerToken() {
    const session = loadSession();
    return Boolean(session && session.token !== this.token);
  }

  _startPings() {
    this._stopPings();
    this.pingTimer = setInterval(() => {
      this.send({ type: "ping" });
      this.pongTimer = setTimeout(() => this.ws && this.ws.close(4000, "no pong"), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  _stopPings() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}

// A topic's entities by key, kept current from its messages. Components read
// `store.version.value` (bumped at most once per animation frame, however many
// messages arrived) and then `store.items`, so 200 robots at 10 Hz cost one render
// a frame, not one per message.
export class TopicStore {
  constructor(live, topic, key) {
    this.key = key;
    this.items = new Map();
    this.version = signal(0);
    this.loaded = signal(false);
    this._scheduled = false;
    live.follow(topic, (message) => this._apply(message));
  }

  get(id) {
    return this.items.get(id);
  }

  values() {
    return Array.from(this.items.values());
  }

  _apply(message) {
    if (message.type === "snapshot") {
      this.items = new Map(message.data.map((item) => [item[this.key], item]));
      this.loaded.value = true;
    } else if (message.type === "upsert") {
      this.items.set(message.data[this.key], message.data);
    } else if (message.type === "delete") {
      this.items.delete(message.data[this.key]);
    }
    this._changed();
  }

  _changed() {
    if (this._scheduled) return;
    this._scheduled = true;
    const flush = () => {
      this._scheduled = false;
      this.version.value++;
    };
    if (document.hidden) setTimeout(flush, 0);
    else requestAnimationFrame(flush);
  }
}
