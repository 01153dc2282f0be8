// In-page dialogs: a modal <dialog> (not window.confirm, which tablets block or show
// badly, and which would hang a wall screen nobody stands at). A dialog is rendered only
// while it is open, so its buttons exist only then. Escape or a tap outside the box
// means "no" / "close".
//
// A confirmation's "yes" button carries `data-confirm="yes"` and the `data-action` of
// what it confirms; the control that asked hides itself meanwhile, so one element on the
// page does that action at any time. The safe answer has the focus: Enter, or a second
// tap that lands where the first one was, does not confirm.
import { useEffect, useRef } from "preact/hooks";
import { html } from "./ui.js";

export function Modal({ title, onClose, className = "", children, ...marks }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    const safe = dialog && dialog.querySelector("[data-safe]");
    if (safe) safe.focus();
    return () => dialog && dialog.open && dialog.close();
  }, []);
  const cancel = (event) => {
    event.preventDefault();
    onClose();
  };
  const outside = (event) => {
    if (event.target === ref.current) onClose();
  };
  return html`<dialog ref=${ref} class="modal ${className}" aria-modal="true" aria-label=${title} onCancel=${cancel}
      onClick=${outside} ...${marks}>
    <div class="modal-box">
      <h2>${title}</h2>
      ${children}
    </div>
  </dialog>`;
}

export function ConfirmDialog({ title, message, yes, no, action, danger = true, onYes, onNo, children }) {
  return html`<${Modal} title=${title} onClose=${onNo} className="confirm" role="alertdialog" data-confirm-dialog>
    ${message && html`<p>${message}</p>`}
    ${children}
    <div class="modal-actions">
      <button type="button" data-safe data-confirm="no" onClick=${onNo}>${no}</button>
      <button type="button" class=${danger ? "danger" : "primary"} data-confirm="yes" data-action=${action}
        onClick=${onYes}>${yes}</button>
    </div>
  </${Modal}>`;
}
