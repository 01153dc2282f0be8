// Camera tiles: each registered camera as an <img> of its MJPEG stream
// (`/api/video-streams/{id}/live?token=…`: one long response, frames as they come),
// with its name, status and frame rate in words.
//
// A browser keeps at most six HTTP/1.1 connections to one host (the WebSocket is not
// one of them), and every live stream holds one, so at most MAX_LIVE tiles stream at
// once (active cameras first), leaving one connection for the API calls; the
// others show their latest still (one request) and a button to watch them live, which
// makes room by stopping the tile watched longest. A stream that breaks is not retried
// in a loop: the tile tries again only when the camera's status next says it is active.
import { useEffect, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { addMessages, lang, t } from "./i18n.js";
import { html } from "./ui.js";

addMessages({
  en: {
    "cams.title": "Cameras",
    "cams.none": "No cameras registered.",
    "cams.status.active": "live",
    "cams.status.inactive": "no picture",
    "cams.status.error": "recording failed",
    "cams.fps": "{n} fps",
    "cams.recording": "recording",
    "cams.watch": "Watch live",
    "cams.still": "still picture",
    "cams.alt": "Camera {name}",
  },
  ko: {
    "cams.title": "카메라",
    "cams.none": "등록된 카메라가 없습니다.",
    "cams.status.active": "실시간",
    "cams.status.inactive": "영상 없음",
    "cams.status.error": "녹화 실패",
    "cams.fps": "초당 {n}장",
    "cams.recording": "녹화 중",
    "cams.watch": "실시간 보기",
    "cams.still": "정지 화면",
    "cams.alt": "{name} 카메라",
  },
});

export const MAX_LIVE = 5;

export function Cameras({ cameras, token }) {
  cameras.version.value;
  lang.value;
  const streaming = useRef([]); // camera ids streaming now, the one picked longest ago first
  const picks = useSignal(0);
  picks.value;
  const list = cameras.values().sort((a, b) => a.id - b.id);
  streaming.current = fill(streaming.current, list);
  const watch = (id) => {
    streaming.current = [...streaming.current.filter((other) => other !== id), id].slice(-MAX_LIVE);
    picks.value++;
  };
  const live = new Set(streaming.current);
  return html`<section class="card dash-cameras" data-cameras aria-labelledby="cams-title">
    <h2 id="cams-title">${t("cams.title")}</h2>
    ${list.length === 0 && html`<p class="muted">${t("cams.none")}</p>`}
    <div class="camera-tiles">
      ${list.map(
        (camera) => html`<${CameraTile} key=${camera.camera_id} camera=${camera} token=${token}
          live=${live.has(camera.camera_id)} onWatch=${() => watch(camera.camera_id)} />`,
      )}
    </div>
  </section>`;
}

// The tiles that stream: those streaming already keep streaming (a status change never
// swaps streams); free places go to active cameras first, then the others.
function fill(streaming, list) {
  const ids = streaming.filter((id) => list.some((camera) => camera.camera_id === id));
  const candidates = [...list.filter((c) => c.status === "active"), ...list.filter((c) => c.status !== "active")];
  for (const camera of candidates) {
    if (ids.length >= MAX_LIVE) break;
    if (!ids.includes(camera.camera_id)) ids.push(camera.camera_id);
  }
  return ids;
}

function CameraTile({ camera, token, live, onWatch }) {
  const attempt = useSignal(0);
  const broken = useSignal(false);
  const wasActive = useRef(camera.status === "active");
  useEffect(() => {
    // Reconnect once per return to `active`, never on a timer.
    const active = camera.status === "active";
    if (active && !wasActive.current && broken.value) {
      broken.value = false;
      attempt.value++;
    }
    wasActive.current = active;
  }, [camera.status]);
  const base = `/api/video-streams/${encodeURIComponent(camera.camera_id)}`;
  const query = `token=${encodeURIComponent(token)}${attempt.value ? `&attempt=${attempt.value}` : ""}`;
  const src = live ? `${base}/live?${query}` : `${base}/snapshot.jpg?${query}`;
  const name = camera.name || camera.camera_id;
  return html`<figure class="camera-tile status-${camera.status}" data-camera-status=${camera.status}>
    <div class="camera-frame">
      <img data-camera-id=${camera.camera_id} data-live=${String(live)} src=${src} alt=${t("cams.alt", { name })}
        onError=${() => (broken.value = true)} />
      ${camera.status !== "active" && html`<span class="camera-overlay">${t(`cams.status.${camera.status}`)}</span>`}
      ${!live && html`<button type="button" class="camera-watch" data-action="watch-live" onClick=${onWatch}>${t("cams.watch")}</button>`}
    </div>
    <figcaption>
      <strong>${name}</strong>
      <span class="pill cam-${camera.status}">${t(`cams.status.${camera.status}`)}</span>
      ${camera.status === "active" && html`<span class="muted">${t("cams.fps", { n: Math.round(camera.fps) })}</span>`}
      ${camera.recording && html`<span class="pill recording">${t("cams.recording")}</span>`}
      ${!live && html`<span class="muted">${t("cams.still")}</span>`}
    </figcaption>
  </figure>`;
}
