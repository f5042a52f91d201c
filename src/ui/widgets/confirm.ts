/**
 * A destructive action behind a confirmation: a native modal <dialog> (focus is trapped in it,
 * Escape cancels, focus returns to the button after), naming exactly what will happen. The
 * dialog exists only while open: a table of 200 rows holds 200 buttons, not 200 dialogs.
 */
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.ts";

type Props = {
  label: string;
  /** What it acts on, when the row around it says so already: read out, not shown. */
  subject?: string;
  question: string;
  confirmLabel?: string;
  onConfirm: () => void;
  disabled?: boolean;
  danger?: boolean;
};

export function ConfirmButton({ label, subject, question, confirmLabel = label, onConfirm, disabled = false, danger = true }: Props) {
  const [open, setOpen] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  useLayoutEffect(() => {
    if (open) dialog.current?.showModal();
  }, [open]);
  const close = () => dialog.current?.close();
  return html`
    <button type="button" class=${danger ? "danger" : ""} disabled=${disabled} onClick=${() => setOpen(true)}>${label}${subject === undefined ? null : html`<span class="visually-hidden"> ${subject}</span>`}</button>
    ${open
      ? html`<dialog ref=${dialog} aria-label=${subject === undefined ? label : `${label} ${subject}`} onClose=${() => setOpen(false)}>
          <p>${question}</p>
          <div class="actions">
            <button type="button" class=${danger ? "danger" : "primary"} onClick=${() => { close(); onConfirm(); }}>${confirmLabel}</button>
            <button type="button" autofocus onClick=${close}>Cancel</button>
          </div>
        </dialog>`
      : null}
  `;
}
