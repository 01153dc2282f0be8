// A TopicStore that keeps only what a screen shows, so a dashboard left open all day
// holds a bounded amount: `keep(item)` drops entities that no longer matter (a party
// that left), `limit` keeps the newest N by key (events, commands: their topics send
// every new one, for ever).
import { TopicStore } from "./live.js";

export class KeptStore extends TopicStore {
  constructor(live, topic, key, { keep = null, limit = 0 } = {}) {
    super(live, topic, key);
    this.keep = keep;
    this.limit = limit;
  }

  _apply(message) {
    if (message.type === "upsert" && this.keep && !this.keep(message.data)) {
      this.items.delete(message.data[this.key]);
      this._changed();
      return;
    }
    super._apply(message);
    if (message.type === "snapshot" && this.keep) {
      for (const [id, item] of this.items) if (!this.keep(item)) this.items.delete(id);
    }
    if (this.limit && this.items.size > this.limit) {
      const oldest = Array.from(this.items.keys()).sort((a, b) => a - b);
      for (const id of oldest.slice(0, this.items.size - this.limit)) this.items.delete(id);
    }
  }

  // Newest first (by key), as the API lists them.
  newest(count = Infinity) {
    return this.values().sort((a, b) => b[this.key] - a[this.key]).slice(0, count);
  }
}
