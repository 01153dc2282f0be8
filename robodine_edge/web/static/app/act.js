// A staff action on the dashboard: one request at a time per control, and a refusal
// said in words beside it (the API's own message under ours, for the details).
import { useSignal } from "@preact/signals";
import { addMessages, t } from "./i18n.js";
import { html } from "./ui.js";

addMessages({
  en: {
    "act.failed.network": "The store's server cannot be reached. Check the Wi-Fi and try again.",
    "act.failed.403": "You may not do this.",
    "act.failed.404": "It is no longer there.",
    "act.failed.409": "Refused: {message}",
    "act.failed.422": "Check the values: {message}",
    "act.failed.429": "Too many requests. Wait a moment.",
    "act.failed.other": "It did not work: {message}",
    "act.dismiss": "Dismiss",
  },
  ko: {
    "act.failed.network": "매장 서버에 연결할 수 없습니다. Wi-Fi를 확인하고 다시 시도하세요.",
    "act.failed.403": "이 작업을 할 권한이 없습니다.",
    "act.failed.404": "이미 없어졌습니다.",
    "act.failed.409": "거절됨: {message}",
    "act.failed.422": "입력값을 확인하세요: {message}",
    "act.failed.429": "요청이 너무 많습니다. 잠시 기다리세요.",
    "act.failed.other": "실패했습니다: {message}",
    "act.dismiss": "닫기",
  },
});

// Words for an ApiError; `known` maps a status or error code to a message key of the
// caller's own (e.g. {409: "robots.busy"}), checked first.
export function describe(error, known = {}) {
  const key = known[error.code] || known[error.status];
  if (key) return t(key, { message: error.message });
  if (error.status === 0) return t("act.failed.network");
  if ([403, 404, 409, 422, 429].includes(error.status)) return t(`act.failed.${error.status}`, { message: error.message });
  return t("act.failed.other", { message: error.message });
}

// `run(work)` marks the control busy, awaits `work()`, and keeps the error to show.
export function useAction() {
  const busy = useSignal(false);
  const problem = useSignal(null);
  const run = async (work) => {
    if (busy.value) return undefined;
    busy.value = true;
    problem.value = null;
    try {
      return await work();
    } catch (error) {
      problem.value = error;
      return undefined;
    } finally {
      busy.value = false;
    }
  };
  return { busy, problem, run };
}

export function Problem({ action, known, children }) {
  const error = action.problem.value;
  if (!error) return null;
  return html`<p class="alert dash-problem" role="alert">
    <span>${describe(error, known)}</span>${children}
    <button type="button" class="quiet" onClick=${() => (action.problem.value = null)}>${t("act.dismiss")}</button>
  </p>`;
}
