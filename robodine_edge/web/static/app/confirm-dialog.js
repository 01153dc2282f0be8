// A question asked in the page (a browser's confirm() box is small, untranslated and
// blocks the live socket's handlers): a title, a sentence, and two large buttons. The
// safe answer has the focus; Escape or a tap outside the box is "no".
import { useEffect, useRef } from "preact/hooks";
import { html } from "./ui.js";

export function ConfirmDialog({ title, text, yes, no, action, danger = false, onYes, onNo }) {
  const safe = useRef(null);
  useEffect(() => {
    safe.current?.focus();
    const onKey = (event) => event.key === "Escape" && onNo();
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
  return html`<div class="dialog-backdrop" onClick=${(e) => e.target === e.currentTarget && onNo()}>
    <div class="card dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title" aria-describedby="dialog-text">
      <h2 id="dialog-title">${title}</h2>
      <p id="dialog-text">${text}</p>
      <div class="dialog-actions">
        <button type="button" ref=${safe} data-action="dismiss" onClick=${onNo}>${no}</button>
        <button type="button" class=${danger ? "danger" : "primary"} data-action=${action} onClick=${onYes}>${yes}</button>
      </div>
    </div>
  </div>`;
}
