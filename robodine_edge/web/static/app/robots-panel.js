// The robots panel: a row per robot with its link, state, battery, current task and
// when it was last heard from; "stuck" (or an error) with the reason when the store
// knows one; and the staff commands dock, stop and resume. A refused command (a robot
// busy with a task refuses dock) is said in words, with "dock anyway" to force it.
import { Component } from "preact";
import { useSignal } from "@preact/signals";
import { api } from "./api.js";
import { Problem, useAction } from "./act.js";
import { addMessages, lang, t } from "./i18n.js";
import { ago, minute } from "./since.js";
import { html } from "./ui.js";
import { robotState, word } from "./words.js";

addMessages({
  en: {
    "robots.title": "Robots",
    "robots.summary": "{online} of {total} online",
    "robots.none": "No robots registered yet.",
    "robots.kind.albabot": "serving robot",
    "robots.kind.cookbot": "cooking robot",
    "robots.battery": "Battery {n}%",
    "robots.battery.unknown": "Battery not reported",
    "robots.lastSeen": "Last seen {ago}",
    "robots.neverSeen": "Never linked",
    "robots.noTask": "No task",
    "robots.task.cook": "Cooking order {order}",
    "robots.task.serve": "Serving order {order} to table {table}",
    "robots.task.clean": "Cleaning table {table}",
    "robots.task.go_to": "Going to ({x}, {y})",
    "robots.task.dock": "Going to the dock",
    "robots.task.other": "Task {id}",
    "robots.stuck": "Stuck — {reason}",
    "robots.error": "Reports an error — {reason}",
    "robots.failed": "Last task did not finish — {reason}",
    "robots.command.dock": "Dock",
    "robots.command.stop": "Stop",
    "robots.command.resume": "Resume",
    "robots.sent": "{command}: sent",
    "robots.busy": "It is busy with a task ({message}).",
    "robots.force": "Dock anyway",
  },
  ko: {
    "robots.title": "로봇",
    "robots.summary": "{total}대 중 {online}대 연결됨",
    "robots.none": "등록된 로봇이 없습니다.",
    "robots.kind.albabot": "서빙 로봇",
    "robots.kind.cookbot": "조리 로봇",
    "robots.battery": "배터리 {n}%",
    "robots.battery.unknown": "배터리 정보 없음",
    "robots.lastSeen": "마지막 확인 {ago}",
    "robots.neverSeen": "연결된 적 없음",
    "robots.noTask": "작업 없음",
    "robots.task.cook": "주문 {order} 조리 중",
    "robots.task.serve": "주문 {order}을(를) {table} 테이블로 서빙 중",
    "robots.task.clean": "{table} 테이블 청소 중",
    "robots.task.go_to": "({x}, {y})(으)로 이동 중",
    "robots.task.dock": "충전대로 이동 중",
    "robots.task.other": "작업 {id}",
    "robots.stuck": "멈춤 — {reason}",
    "robots.error": "오류 보고 — {reason}",
    "robots.failed": "지난 작업 실패 — {reason}",
    "robots.command.dock": "충전대로",
    "robots.command.stop": "정지",
    "robots.command.resume": "다시 시작",
    "robots.sent": "{command}: 보냄",
    "robots.busy": "작업 중이라 거절했습니다 ({message}).",
    "robots.force": "그래도 충전대로",
  },
});

const COMMANDS = ["dock", "stop", "resume"];
const ENDED = new Set(["cancelled", "failed", "nacked"]);
const STUCK = /^no progress/;

// What a command asks, in words; `tableName(id)` names a table.
export function taskWords(command, tableName) {
  const args = command.args || {};
  switch (command.name) {
    case "cook":
      return t("robots.task.cook", { order: args.order_id });
    case "serve":
      return t("robots.task.serve", { order: args.order_id, table: tableName(args.table_id) });
    case "clean":
      return t("robots.task.clean", { table: tableName(args.table_id) });
    case "go_to":
      return t("robots.task.go_to", { x: Number(args.x).toFixed(1), y: Number(args.y).toFixed(1) });
    case "dock":
      return t("robots.task.dock");
    default:
      return t("robots.task.other", { id: command.id });
  }
}

// Why a robot needs a look, if it does: it reports `error` (the reason from its latest
// warning), or its latest command was taken back or failed — "stuck" when the edge took
// its task for making no progress (the reason the API gives: "no progress for N s").
export function problemOf(robot, lastCommand, lastWarning) {
  if (robot.state === "error") return { kind: "error", reason: lastWarning ? lastWarning.message : robotState("error") };
  if (!robot.current_task && lastCommand && ENDED.has(lastCommand.status) && lastCommand.reason) {
    return { kind: STUCK.test(lastCommand.reason) ? "stuck" : "failed", reason: lastCommand.reason };
  }
  return null;
}

export function RobotsPanel({ robots, commands, events, tables }) {
  robots.version.value;
  commands.version.value;
  events.version.value;
  tables.version.value;
  lang.value;
  minute.value; // "last seen" stays true
  const list = robots.values().sort((a, b) => a.kind.localeCompare(b.kind) || a.robot_id.localeCompare(b.robot_id));
  const latest = new Map();
  for (const command of commands.values()) {
    const seen = latest.get(command.robot_id);
    if (!seen || seen.id < command.id) latest.set(command.robot_id, command);
  }
  const warnings = new Map();
  for (const event of events.values()) {
    if (event.entity_type !== "robot" || (event.level !== "warning" && event.level !== "error")) continue;
    const seen = warnings.get(event.entity_id);
    if (!seen || seen.id < event.id) warnings.set(event.entity_id, event);
  }
  const tableName = (id) => (tables.get(id) ? tables.get(id).name : id);
  const online = list.filter((robot) => robot.online).length;
  return html`<section class="card dash-robots" data-robots aria-labelledby="robots-title">
    <div class="card-head"><h2 id="robots-title">${t("robots.title")}</h2>
      <span class="muted">${t("robots.summary", { online, total: list.length })}</span></div>
    ${list.length === 0 && html`<p class="muted">${t("robots.none")}</p>`}
    <ul class="robot-rows">
      ${list.map((robot) => {
        const current = robot.current_task ? commands.get(robot.current_task) : null;
        const task = robot.current_task ? (current ? taskWords(current, tableName) : t("robots.task.other", { id: robot.current_task })) : null;
        return html`<${RobotRow} key=${robot.robot_id} robot=${robot} task=${task}
          problem=${problemOf(robot, latest.get(robot.robot_id), warnings.get(robot.robot_id))}
          seen=${robot.last_seen ? t("robots.lastSeen", { ago: ago(robot.last_seen) }) : t("robots.neverSeen")}
          lang=${lang.value} />`;
      })}
    </ul>
  </section>`;
}

// A row re-renders only when something it shows changed: not for a move (most of what
// the robots topic sends), which only the map draws.
const SHOWN = ["name", "kind", "online", "state", "current_task"];

class RobotRow extends Component {
  shouldComponentUpdate(next) {
    const now = this.props;
    return (
      SHOWN.some((key) => next.robot[key] !== now.robot[key]) ||
      roundBattery(next.robot) !== roundBattery(now.robot) ||
      next.seen !== now.seen ||
      next.task !== now.task ||
      next.lang !== now.lang ||
      JSON.stringify(next.problem) !== JSON.stringify(now.problem)
    );
  }

  render({ robot, task, problem, seen }) {
    return html`<${RobotRowBody} robot=${robot} task=${task} problem=${problem} seen=${seen} />`;
  }
}

const roundBattery = (robot) => (typeof robot.battery === "number" ? Math.round(robot.battery) : null);

function RobotRowBody({ robot, task, problem, seen }) {
  const action = useAction();
  const sent = useSignal(null);
  const send = (name, force = false) =>
    action.run(async () => {
      sent.value = null;
      const body = force ? { name, args: {}, force: true } : { name, args: {} };
      await api(`/api/robots/${encodeURIComponent(robot.robot_id)}/commands`, { method: "POST", body });
      sent.value = name;
    });
  const battery = roundBattery(robot);
  const busy = action.problem.value && action.problem.value.status === 409;
  return html`<li class="robot-row${robot.online ? "" : " offline"}${problem ? ` problem-${problem.kind}` : ""}" data-robot-id=${robot.robot_id}>
    <div class="robot-who">
      <strong>${robot.name || robot.robot_id}</strong>
      <span class="muted">${robot.name && robot.name !== robot.robot_id ? `${robot.robot_id} · ` : ""}${word("robots.kind.", robot.kind)}</span>
    </div>
    <div class="robot-status">
      <span class="pill ${robot.online ? "online" : "offline"}">${robot.online ? t("robot.online") : t("robot.offline")}</span>
      <span class="pill state state-${robot.state}">${robotState(robot.state)}</span>
      <span class="battery${battery !== null && battery < 20 ? " low" : ""}" title=${t("robots.battery", { n: battery ?? "?" })}>
        <span class="battery-bar"><span class="battery-fill" style=${{ width: `${battery ?? 0}%` }}></span></span>
        ${battery !== null ? t("robots.battery", { n: battery }) : t("robots.battery.unknown")}</span>
    </div>
    <div class="robot-task">
      <span>${task || t("robots.noTask")}</span>
      <span class="muted">${seen}</span>
      ${problem && html`<span class="robot-problem" data-problem=${problem.kind}>${t(`robots.${problem.kind}`, { reason: problem.reason })}</span>`}
    </div>
    <div class="robot-commands">
      ${COMMANDS.map(
        (name) => html`<button type="button" data-command=${name} class=${name === "stop" ? "danger-outline" : ""}
          disabled=${action.busy.value} onClick=${() => send(name)}>${t(`robots.command.${name}`)}</button>`,
      )}
    </div>
    ${sent.value && html`<span class="muted robot-sent" role="status">${t("robots.sent", { command: t(`robots.command.${sent.value}`) })}</span>`}
    <${Problem} action=${action} known=${{ 409: "robots.busy" }}>
      ${busy && html`<button type="button" data-action="force-dock" onClick=${() => send("dock", true)}>${t("robots.force")}</button>`}
    <//>
  </li>`;
}
