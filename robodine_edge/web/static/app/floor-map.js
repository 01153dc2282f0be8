// The floor map: tables from their geometry (metres, top-left corner), coloured by
// status with the status in words and the seated party's size; robots at their live
// pose with a heading mark, battery and state; an offline robot greyed with when it was
// last seen. One plain SVG in floor coordinates (x right, y down, as the API gives
// them), scaled by its viewBox to fit. The stores bump once per animation frame, and
// each mark re-renders only when its own object changed, so 200 robots stay smooth.
import { Component } from "preact";
import { useMemo, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api } from "./api.js";
import { Problem, useAction } from "./act.js";
import { addMessages, lang, t } from "./i18n.js";
import { ago, minute } from "./since.js";
import { html } from "./ui.js";
import { robotState, tableStatus } from "./words.js";

addMessages({
  en: {
    "map.title": "Floor",
    "map.label": "Floor map of the tables and robots",
    "map.party": "{n} guests",
    "map.seats": "{n} seats",
    "map.battery": "{n}%",
    "map.lastSeen": "offline · seen {ago}",
    "map.empty": "No tables yet. An admin adds them with their place on the floor.",
    "map.table": "Table {name}",
    "map.present": "guests at the table",
    "map.release": "Guests left: to cleaning",
    "map.cleaned": "Cleaned: free again",
    "map.close": "Close",
  },
  ko: {
    "map.title": "매장 배치도",
    "map.label": "테이블과 로봇의 배치도",
    "map.party": "{n}명",
    "map.seats": "{n}인석",
    "map.battery": "{n}%",
    "map.lastSeen": "연결 끊김 · {ago} 확인",
    "map.empty": "테이블이 아직 없습니다. 관리자가 매장 위치와 함께 추가합니다.",
    "map.table": "{name} 테이블",
    "map.present": "손님 있음",
    "map.release": "손님 나감: 청소로",
    "map.cleaned": "청소 끝: 빈 테이블로",
    "map.close": "닫기",
  },
});

const PAD_M = 0.6;
const REACH_M = 10; // robots this far beyond the tables still widen the map; farther ones are clamped
const DEGREES = 180 / Math.PI;
const EMPTY_FLOOR = [0, 0, 10, 6];
const DENSE = 40;

const finite = (n) => typeof n === "number" && Number.isFinite(n);
const hasPose = (robot) => robot.pose && finite(robot.pose.x) && finite(robot.pose.y);

// The floor's box [x0, y0, x1, y1] in metres: the tables, and the robots near them.
function extentOf(tables, robots) {
  let box = null;
  const add = (x0, y0, x1, y1) => {
    box = box ? [Math.min(box[0], x0), Math.min(box[1], y0), Math.max(box[2], x1), Math.max(box[3], y1)] : [x0, y0, x1, y1];
  };
  for (const table of tables) add(table.x, table.y, table.x + table.width, table.y + table.height);
  const reach = box && [box[0] - REACH_M, box[1] - REACH_M, box[2] + REACH_M, box[3] + REACH_M];
  for (const robot of robots) {
    if (!hasPose(robot)) continue;
    const { x, y } = clampTo(reach, robot.pose);
    add(x - 0.4, y - 0.4, x + 0.4, y + 0.4);
  }
  if (!box) return null;
  return [Math.floor(box[0] - PAD_M), Math.floor(box[1] - PAD_M), Math.ceil(box[2] + PAD_M), Math.ceil(box[3] + PAD_M)];
}

function clampTo(box, { x, y }) {
  if (!box) return { x, y };
  return { x: Math.min(Math.max(x, box[0]), box[2]), y: Math.min(Math.max(y, box[1]), box[3]) };
}

// The box grows to take in `b` and never shrinks (no jumps as robots come and go); the
// same array while nothing grew, so marks that depend on it are not redrawn.
function union(a, b) {
  if (!a || !b) return a || b;
  if (b[0] >= a[0] && b[1] >= a[1] && b[2] <= a[2] && b[3] <= a[3]) return a;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

// Re-render a mark only when what it draws changed (the stores replace an entity's
// object on every upsert, so identity says it all).
class Mark extends Component {
  shouldComponentUpdate(next) {
    for (const key in next) if (next[key] !== this.props[key]) return true;
    return false;
  }
}

class TableMark extends Mark {
  render({ table, party, selected, font, onPick }) {
    const { x, y, width, height } = table;
    const cx = x + width / 2;
    const size = Math.min(font, width / 3.2, height / 2.6);
    const pick = () => onPick(table.id);
    return html`<g class="map-table table-${table.status}${selected ? " selected" : ""}" data-table-id=${table.id}
      data-status=${table.status} role="button" tabindex="0" aria-label=${t("map.table", { name: table.name })}
      onClick=${pick} onKeyDown=${(e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), pick())}>
      <rect x=${x} y=${y} width=${width} height=${height} rx=${Math.min(width, height) * 0.1} />
      <text x=${cx} y=${y + height / 2 - size * 0.55} font-size=${size} class="map-table-name">${table.name}</text>
      <text x=${cx} y=${y + height / 2 + size * 0.55} font-size=${size * 0.8}>${tableStatus(table.status)}</text>
      ${party && html`<text x=${cx} y=${y + height / 2 + size * 1.55} font-size=${size * 0.8} class="map-party"
        data-party-size=${party.party_size}>${t("map.party", { n: party.party_size })}</text>`}
    </g>`;
  }
}

// A robot: a disc with a heading mark at its pose, its name above and battery and
// state below. With many robots on the floor (over DENSE) only offline ones keep their
// words, which would be an unreadable heap and, redrawn every frame, the map's whole cost.
class RobotMark extends Mark {
  render({ robot, font, box, labels }) {
    const { x, y } = clampTo(box, robot.pose);
    const yaw = finite(robot.pose.yaw) ? robot.pose.yaw : 0;
    const battery = finite(robot.battery) ? robot.battery : null;
    const low = battery !== null && battery < 20;
    const r = font * 0.9;
    return html`<g class="map-robot${robot.online ? "" : " offline"}${low ? " low" : ""} state-${robot.state}"
      data-robot-id=${robot.robot_id} data-state=${robot.state} data-online=${String(robot.online)}
      data-battery=${battery === null ? "" : String(battery)} data-kind=${robot.kind}
      transform=${`translate(${x} ${y})`}>
      <circle r=${r} />
      <path class="map-heading" transform=${`rotate(${yaw * DEGREES})`}
        d=${`M${r * 0.35},${-r * 0.55} L${r * 1.75},0 L${r * 0.35},${r * 0.55} Z`} />
      ${(labels || !robot.online) && html`<${RobotWords} robot=${robot} battery=${battery} font=${font} r=${r} />`}
    </g>`;
  }
}

function RobotWords({ robot, battery, font, r }) {
  const info = robot.online
    ? [battery !== null ? t("map.battery", { n: Math.round(battery) }) : null, robotState(robot.state)].filter(Boolean).join(" · ")
    : t("map.lastSeen", { ago: ago(robot.last_seen) });
  return html`<text y=${-r * 1.35} font-size=${font * 0.85} class="map-robot-name">${robot.name || robot.robot_id}</text>
    <text y=${r * 2.1} font-size=${font * 0.75} class="map-robot-info">${info}</text>`;
}

export function FloorMap({ tables, customers, robots }) {
  const kept = useRef(null);
  const selected = useSignal(null);
  tables.version.value;
  customers.version.value;
  robots.version.value;
  lang.value;
  const tick = minute.value; // offline robots say how long ago they were seen
  const tableList = tables.values().sort((a, b) => a.id - b.id);
  const robotList = robots.values().filter(hasPose);
  kept.current = union(kept.current, extentOf(tableList, robotList));
  const [x0, y0, x1, y1] = kept.current || EMPTY_FLOOR;
  const font = Math.min(Math.max(Math.max(x1 - x0, y1 - y0) / 50, 0.16), 0.6);
  const labels = robotList.length <= DENSE;
  const onPick = useMemo(() => (id) => (selected.value = selected.value === id ? null : id), []);
  const picked = selected.value !== null ? tables.get(selected.value) : null;
  return html`<section class="card dash-map" aria-labelledby="map-title">
    <h2 id="map-title">${t("map.title")}</h2>
    <svg data-floor class="floor" viewBox=${`${x0} ${y0} ${x1 - x0} ${y1 - y0}`} role="group" aria-label=${t("map.label")}>
      <rect class="floor-ground" x=${x0} y=${y0} width=${x1 - x0} height=${y1 - y0} />
      <g class="map-tables">
        ${tableList.map(
          (table) => html`<${TableMark} key=${table.id} table=${table} party=${table.party_id ? customers.get(table.party_id) : null}
            selected=${selected.value === table.id} font=${font} onPick=${onPick} lang=${lang.value} />`,
        )}
      </g>
      <g class="map-robots">
        ${robotList.map(
          (robot) => html`<${RobotMark} key=${robot.robot_id} robot=${robot} font=${font}
            box=${kept.current} labels=${labels} lang=${lang.value} tick=${robot.online ? 0 : tick} />`,
        )}
      </g>
    </svg>
    ${tableList.length === 0 && html`<p class="muted">${t("map.empty")}</p>`}
    ${picked && html`<${TableDetails} table=${picked} party=${picked.party_id ? customers.get(picked.party_id) : null}
      onClose=${() => (selected.value = null)} />`}
  </section>`;
}

// A tapped table: what it is, and the floor's next step for it (guests left → cleaning;
// cleaned → available, where the waiting list may seat the next party at once).
function TableDetails({ table, party, onClose }) {
  const action = useAction();
  const post = (step) => action.run(() => api(`/api/tables/${table.id}/${step}`, { method: "POST" }));
  return html`<div class="map-details" data-selected-table=${table.id}>
    <strong>${t("map.table", { name: table.name })}</strong>
    <span class="pill table-${table.status}">${tableStatus(table.status)}</span>
    <span>${t("map.seats", { n: table.seats })}</span>
    ${party && html`<span>${t("map.party", { n: party.party_size })}${party.name ? ` · ${party.name}` : ""}</span>`}
    ${table.present && html`<span>${t("map.present")}</span>`}
    <span class="grow"></span>
    ${table.status === "occupied" &&
    html`<button type="button" data-action="release" disabled=${action.busy.value} onClick=${() => post("release")}>
      ${t("map.release")}</button>`}
    ${table.status === "cleaning" &&
    html`<button type="button" class="primary" data-action="cleaned" disabled=${action.busy.value}
      onClick=${() => post("cleaned")}>${t("map.cleaned")}</button>`}
    <button type="button" class="quiet" onClick=${onClose}>${t("map.close")}</button>
    <${Problem} action=${action} />
  </div>`;
}
