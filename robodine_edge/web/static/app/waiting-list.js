// The waiting list at the door: parties waiting in order with their estimated wait,
// seating one by hand at a free table that fits, taking one off the list, and adding a
// party as it arrives (seated at once when a table fits, else put on the list).
import { useSignal } from "@preact/signals";
import { api, idempotencyKey } from "./api.js";
import { Problem, useAction } from "./act.js";
import { addMessages, lang, t } from "./i18n.js";
import { waitTime } from "./since.js";
import { html } from "./ui.js";

addMessages({
  en: {
    "waiting.title": "Waiting list",
    "waiting.count": "{n} waiting",
    "waiting.none": "Nobody is waiting.",
    "waiting.party": "{n} people",
    "waiting.noName": "Party {id}",
    "waiting.position": "#{n}",
    "waiting.wait": "Wait {wait}",
    "waiting.waitUnknown": "Wait unknown",
    "waiting.table": "Table",
    "waiting.tableOption": "{name} ({seats} seats)",
    "waiting.noTable": "No free table fits {n} yet.",
    "waiting.seat": "Seat",
    "waiting.left": "Left",
    "waiting.add": "A party arrives",
    "waiting.size": "People",
    "waiting.fewer": "One fewer",
    "waiting.more": "One more",
    "waiting.name": "Name (optional)",
    "waiting.submit": "Add party",
    "waiting.seatedAt": "{name}: seated at table {table}.",
    "waiting.queued": "{name}: waiting, number {position}.",
  },
  ko: {
    "waiting.title": "대기 명단",
    "waiting.count": "{n}팀 대기",
    "waiting.none": "기다리는 손님이 없습니다.",
    "waiting.party": "{n}명",
    "waiting.noName": "{id}번 손님",
    "waiting.position": "{n}번",
    "waiting.wait": "대기 {wait}",
    "waiting.waitUnknown": "대기 시간 모름",
    "waiting.table": "테이블",
    "waiting.tableOption": "{name} ({seats}인석)",
    "waiting.noTable": "{n}명이 앉을 빈 테이블이 아직 없습니다.",
    "waiting.seat": "안내",
    "waiting.left": "떠남",
    "waiting.add": "손님 도착",
    "waiting.size": "인원",
    "waiting.fewer": "한 명 빼기",
    "waiting.more": "한 명 더",
    "waiting.name": "이름 (선택)",
    "waiting.submit": "대기 등록",
    "waiting.seatedAt": "{name}: {table} 테이블로 안내했습니다.",
    "waiting.queued": "{name}: 대기 {position}번입니다.",
  },
});

const MAX_PARTY = 50;

export function WaitingList({ customers, tables }) {
  customers.version.value;
  tables.version.value;
  lang.value;
  const waiting = customers
    .values()
    .filter((party) => party.status === "waiting")
    .sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity) || a.id - b.id);
  const free = tables
    .values()
    .filter((table) => table.status === "available")
    .sort((a, b) => a.seats - b.seats || a.name.localeCompare(b.name));
  return html`<section class="card dash-waiting" data-waiting-list aria-labelledby="waiting-title">
    <div class="card-head"><h2 id="waiting-title">${t("waiting.title")}</h2>
      <span class="muted">${t("waiting.count", { n: waiting.length })}</span></div>
    <${AddParty} tables=${tables} />
    ${waiting.length === 0 && html`<p class="muted">${t("waiting.none")}</p>`}
    <ol class="waiting-rows">
      ${waiting.map((party) => html`<${WaitingParty} key=${party.id} party=${party} free=${free.filter((table) => table.seats >= party.party_size)} />`)}
    </ol>
  </section>`;
}

const partyName = (party) => party.name || t("waiting.noName", { id: party.id });

function WaitingParty({ party, free }) {
  const action = useAction();
  const chosen = useSignal(null);
  const table = free.find((candidate) => candidate.id === chosen.value) || free[0];
  const seat = () =>
    action.run(() => api(`/api/tables/${table.id}/seat`, { method: "POST", body: { customer_id: party.id } }));
  const leave = () => action.run(() => api(`/api/customers/${party.id}/leave`, { method: "POST" }));
  return html`<li class="waiting-party" data-party-id=${party.id} data-position=${party.position ?? ""}>
    <span class="waiting-position">${t("waiting.position", { n: party.position ?? "?" })}</span>
    <div class="waiting-who">
      <strong>${partyName(party)}</strong>
      <span>${t("waiting.party", { n: party.party_size })} · ${party.estimated_wait_s === null
        ? t("waiting.waitUnknown")
        : t("waiting.wait", { wait: waitTime(party.estimated_wait_s) })}</span>
    </div>
    <div class="waiting-seat">
      ${free.length === 0
        ? html`<span class="muted">${t("waiting.noTable", { n: party.party_size })}</span>`
        : html`<label class="inline"><span class="sr-only">${t("waiting.table")}</span>
            <select data-action="choose-table" value=${table.id} onChange=${(e) => (chosen.value = Number(e.currentTarget.value))}>
              ${free.map((option) => html`<option value=${option.id}>${t("waiting.tableOption", { name: option.name, seats: option.seats })}</option>`)}
            </select></label>
            <button type="button" class="primary" data-action="seat" disabled=${action.busy.value} onClick=${seat}>${t("waiting.seat")}</button>`}
      <button type="button" data-action="party-left" disabled=${action.busy.value} onClick=${leave}>${t("waiting.left")}</button>
    </div>
    <${Problem} action=${action} />
  </li>`;
}

// A party at the door. One Idempotency-Key per party: a double tap or a retry after a
// dropped answer adds it once; a changed form is another party, with a new key.
function AddParty({ tables }) {
  const action = useAction();
  const size = useSignal(2);
  const name = useSignal("");
  const outcome = useSignal(null);
  const attempt = useSignal(null); // {body, key}: a retry of the same party reuses its key
  const setSize = (n) => (size.value = Math.min(MAX_PARTY, Math.max(1, n)));
  const submit = (event) => {
    event.preventDefault();
    outcome.value = null;
    const body = { party_size: size.value };
    if (name.value.trim()) body.name = name.value.trim();
    const same = attempt.value && JSON.stringify(attempt.value.body) === JSON.stringify(body);
    if (!same) attempt.value = { body, key: idempotencyKey() };
    const headers = { "Idempotency-Key": attempt.value.key };
    action.run(async () => {
      const party = await api("/api/customers", { method: "POST", body, headers });
      attempt.value = null;
      name.value = "";
      outcome.value = party;
    });
  };
  const party = outcome.value;
  const seatedAt = party && party.table_id !== null && tables.get(party.table_id);
  return html`<form class="add-party" onSubmit=${submit} data-add-party>
    <span class="add-party-title">${t("waiting.add")}</span>
    <div class="stepper" role="group" aria-label=${t("waiting.size")}>
      <button type="button" aria-label=${t("waiting.fewer")} onClick=${() => setSize(size.value - 1)}>−</button>
      <input name="party_size" type="number" min="1" max=${MAX_PARTY} inputmode="numeric" aria-label=${t("waiting.size")}
        value=${size.value} onInput=${(e) => setSize(Number(e.currentTarget.value) || 1)} />
      <button type="button" aria-label=${t("waiting.more")} onClick=${() => setSize(size.value + 1)}>+</button>
    </div>
    <input name="name" maxlength="64" autocomplete="off" placeholder=${t("waiting.name")} aria-label=${t("waiting.name")}
      value=${name.value} onInput=${(e) => (name.value = e.currentTarget.value)} />
    <button type="submit" class="primary" data-action="add-party" disabled=${action.busy.value}>${t("waiting.submit")}</button>
    ${party &&
    html`<p class="muted add-party-outcome" role="status">${seatedAt
      ? t("waiting.seatedAt", { name: partyName(party), table: seatedAt.name })
      : t("waiting.queued", { name: partyName(party), position: party.position ?? "?" })}</p>`}
    <${Problem} action=${action} />
  </form>`;
}
