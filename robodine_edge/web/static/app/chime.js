// The new-ticket sound: two short tones made with the Web Audio API (no sound file).
// Browsers let a page make sound only after a user gesture, so the screen offers a
// one-tap "start" that arms it (and plays the tones once, so the kitchen hears that it
// works); a second tap mutes it. `state` is "off" | "on" | "unavailable"; `rung` counts
// the tickets announced, shown on the page as `data-chimes` for whoever needs to check.
import { signal } from "@preact/signals";

const TONES = [
  { hz: 880, at: 0, for: 0.14 },
  { hz: 1320, at: 0.16, for: 0.2 },
];

export class Chime {
  constructor() {
    this.context = null;
    this.state = signal("off");
    this.rung = signal(0);
  }

  // In a click handler (the gesture the browser wants): start or resume the audio.
  arm() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      this.state.value = "unavailable";
      return;
    }
    if (!this.context) this.context = new Context();
    this.context.resume();
    this.state.value = "on";
    this._play();
  }

  mute() {
    this.state.value = "off";
  }

  toggle() {
    if (this.state.value === "on") this.mute();
    else this.arm();
  }

  // A new ticket: ring, if armed.
  ring() {
    if (this.state.value !== "on") return;
    this._play();
    this.rung.value++;
  }

  _play() {
    const audio = this.context;
    const start = audio.currentTime + 0.01;
    for (const tone of TONES) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = tone.hz;
      // A quick fade in and out: no click at either end.
      gain.gain.setValueAtTime(0.0001, start + tone.at);
      gain.gain.exponentialRampToValueAtTime(0.4, start + tone.at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + tone.at + tone.for);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + tone.at);
      oscillator.stop(start + tone.at + tone.for + 0.02);
    }
  }
}

// Calls `onNew(order)` for every order this page had not seen before, placed after the
// page's first snapshot (a fresh snapshot after a long drop counts its new orders too).
// Finished orders are forgotten, so the set stays as small as the board.
export function watchNewTickets(live, onNew) {
  let known = null;
  live.follow("orders", (message) => {
    if (message.type === "snapshot") {
      const first = known === null;
      const seen = known || new Set();
      known = new Set(message.data.map((order) => order.id));
      if (!first) for (const order of message.data) if (!seen.has(order.id) && order.status === "placed") onNew(order);
      return;
    }
    if (message.type !== "upsert" || known === null) return;
    const order = message.data;
    if (order.status === "served" || order.status === "cancelled") {
      known.delete(order.id);
    } else if (!known.has(order.id)) {
      known.add(order.id);
      if (order.status === "placed") onNew(order);
    }
  });
}
