// Times as staff read them: "3 min ago", "about 12 min", "6 min 40 s". `minute` ticks
// every 20 s so relative times stay true on a screen left open; it only re-renders
// what reads it and asks the server nothing.
import { signal } from "@preact/signals";
import { addMessages, clockTime, lang, t } from "./i18n.js";

export const minute = signal(Date.now());
setInterval(() => (minute.value = Date.now()), 20000);

addMessages({
  en: {
    "since.now": "just now",
    "since.minutes": "{n} min ago",
    "since.hours": "{n} h ago",
    "since.at": "at {time}",
    "span.seconds": "{s} s",
    "span.minutes": "{m} min {s} s",
    "span.hours": "{h} h {m} min",
    "wait.soon": "any moment",
    "wait.minutes": "about {n} min",
  },
  ko: {
    "since.now": "방금",
    "since.minutes": "{n}분 전",
    "since.hours": "{n}시간 전",
    "since.at": "{time}",
    "span.seconds": "{s}초",
    "span.minutes": "{m}분 {s}초",
    "span.hours": "{h}시간 {m}분",
    "wait.soon": "곧",
    "wait.minutes": "약 {n}분",
  },
});

// How long ago `iso` was, from the last tick (a day or more: the clock time).
export function ago(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, (minute.value - Date.parse(iso)) / 1000);
  if (seconds < 60) return t("since.now");
  if (seconds < 3600) return t("since.minutes", { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return t("since.hours", { n: Math.floor(seconds / 3600) });
  const day = new Date(iso).toLocaleDateString(lang.value === "ko" ? "ko-KR" : "en-GB");
  return t("since.at", { time: `${day} ${clockTime(iso)}` });
}

export function span(seconds) {
  const whole = Math.round(seconds);
  if (whole < 60) return t("span.seconds", { s: whole });
  if (whole < 3600) return t("span.minutes", { m: Math.floor(whole / 60), s: whole % 60 });
  return t("span.hours", { h: Math.floor(whole / 3600), m: Math.floor((whole % 3600) / 60) });
}

export function waitTime(seconds) {
  const minutes = Math.round(seconds / 60);
  return minutes < 1 ? t("wait.soon") : t("wait.minutes", { n: minutes });
}
