// A modal dialog: Escape closes it (the topmost one, when one opens another), focus moves
// into it when it opens and back to what had it (the button that opened it) when it closes.
import { ReactNode, useEffect, useRef } from "react";

const open: object[] = []; // the dialogs shown, the topmost last

/** Whether a dialog is shown (Escape is then the dialog's). */
export function dialogShown(): boolean {
  return open.length > 0;
}

/** Run ``handle`` on Escape pressed outside a field and not taken by a dialog, a popover or
 * an editor first (they prevent its default, in listeners that may come later: the check
 * waits until every listener has run). */
export function onFreeEscape(handle: () => void): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== "Escape" || dialogShown()) return;
    const target = e.target instanceof HTMLElement ? e.target : null;
    if (target && (target.closest("input, textarea, select, [contenteditable=true], .cm-editor") || target.isContentEditable)) return;
    setTimeout(() => {
      if (!e.defaultPrevented) handle();
    });
  };
  window.addEventListener("keydown", onKey);
  return () => window.removeEventListener("keydown", onKey);
}

export function Dialog({
  testId,
  wide,
  onClose,
  closeOnBackdrop,
  children,
}: {
  testId: string;
  wide?: boolean;
  onClose: () => void;
  closeOnBackdrop?: boolean;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const me = {};
    open.push(me);
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (ref.current && !ref.current.contains(document.activeElement)) ref.current.focus();
    const onKey = (e: KeyboardEvent) => {
      // (an editor's completion list, a field's own Escape, comes first)
      if (e.key !== "Escape" || e.defaultPrevented || open[open.length - 1] !== me) return;
      e.preventDefault();
      close.current();
    };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      open.splice(open.indexOf(me), 1);
      // Focus was inside the dialog, gone with it: back to the element that opened it.
      const lost = !document.activeElement || document.activeElement === document.body;
      if (before?.isConnected && lost) before.focus();
    };
  }, []);
  return (
    <div className="modal-back" onClick={closeOnBackdrop ? () => close.current() : undefined}>
      <div
        ref={ref}
        className={wide ? "modal wide" : "modal"}
        role="dialog"
        aria-modal="true"
        tabIndex={-1}
        data-testid={testId}
        onClick={closeOnBackdrop ? (e) => e.stopPropagation() : undefined}
      >
        {children}
      </div>
    </div>
  );
}
