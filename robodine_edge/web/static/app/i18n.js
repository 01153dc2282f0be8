// Korean and English. A page follows the browser's preferred language (ko… → Korean,
// anything else → English) until the user picks one with the switch; the choice is
// kept on this device. Each page module adds its own messages with `addMessages`.
import { signal } from "@preact/signals";

const CHOICE_KEY = "robodine.lang";
export const LANGUAGES = ["ko", "en"];
const MESSAGES = { en: {}, ko: {} };

function browserLanguage() {
  const preferred = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return preferred.toLowerCase().startsWith("ko") ? "ko" : "en";
}

function initialLanguage() {
  const chosen = localStorage.getItem(CHOICE_KEY);
  return LANGUAGES.includes(chosen) ? chosen : browserLanguage();
}

export const lang = signal(initialLanguage());
document.documentElement.lang = lang.value;

export function setLang(value) {
  if (!LANGUAGES.includes(value)) return;
  localStorage.setItem(CHOICE_KEY, value);
  document.documentElement.lang = value;
  lang.value = value;
}

export function addMessages(messages) {
  for (const language of LANGUAGES) Object.assign(MESSAGES[language], messages[language] || {});
}

// The text of `key` in the current language (English, then the key, when missing);
// `{name}` placeholders are filled from `params`. Reading `lang` here makes every
// component that calls t() re-render when the language changes.
export function t(key, params) {
  const text = MESSAGES[lang.value][key] ?? MESSAGES.en[key] ?? key;
  return params ? text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? "")) : text;
}

// Prices are the store's own numbers with at most two decimals (the API names no
// currency), shown with the language's grouping and always two decimals: 11.50.
const MONEY_FORMAT = { minimumFractionDigits: 2, maximumFractionDigits: 2 };
const MONEY = { en: new Intl.NumberFormat("en-US", MONEY_FORMAT), ko: new Intl.NumberFormat("ko-KR", MONEY_FORMAT) };
export function money(amount) {
  return MONEY[lang.value].format(amount);
}

export function clockTime(iso) {
  return new Date(iso).toLocaleTimeString(lang.value === "ko" ? "ko-KR" : "en-GB", { hour: "2-digit", minute: "2-digit" });
}

addMessages({
  en: {
    "lang.switch": "한국어",
    "lang.switch.label": "Switch language",
    "live.connecting": "Connecting…",
    "live.reconnecting": "Reconnecting…",
    "live.open": "Live",
    "session.signout": "Sign out",
    "error.network": "The store's server cannot be reached. Check the Wi-Fi and try again.",
    "error.generic": "Something went wrong: {message}",
  },
  ko: {
    "lang.switch": "English",
    "lang.switch.label": "언어 바꾸기",
    "live.connecting": "연결 중…",
    "live.reconnecting": "다시 연결 중…",
    "live.open": "실시간",
    "session.signout": "로그아웃",
    "error.network": "매장 서버에 연결할 수 없습니다. Wi-Fi를 확인하고 다시 시도하세요.",
    "error.generic": "문제가 생겼습니다: {message}",
  },
});
