// A lightweight tooltip. Token text comes from a model and may contain markup, so lines are set
// with textContent only: whatever a token says is shown, never parsed.
//
// The tooltip lives on the document's body, fixed to the viewport, not inside the view: views sit
// in scroll boxes and notebook outputs that clip what overflows them, and a tooltip near their
// edge would be cut.

export interface Tooltip {
  show(lines: string[], event: MouseEvent): void;
  hide(): void;
  element: HTMLDivElement;
}

/** A tooltip for the view `host` (kept on the body while shown, placed beside the pointer, inside the window). */
export function createTooltip(host: HTMLElement): Tooltip {
  const element = host.ownerDocument.createElement('div');
  element.className = 'mx-tooltip mx-hidden';
  element.setAttribute('role', 'tooltip');
  return {
    element,
    show(lines, event) {
      const doc = host.ownerDocument;
      if (!host.isConnected) return;
      if (!element.isConnected) doc.body.appendChild(element);
      element.textContent = lines.join('\n');
      element.classList.remove('mx-hidden');
      const view = doc.documentElement;
      const w = element.offsetWidth, h = element.offsetHeight;
      let x = event.clientX + 12, y = event.clientY + 14;
      // Flip to the other side of the pointer rather than spill past the window's edge.
      if (x + w > view.clientWidth - 4) x = Math.max(4, event.clientX - w - 12);
      if (y + h > view.clientHeight - 4) y = Math.max(4, event.clientY - h - 10);
      element.style.transform = `translate(${x}px, ${y}px)`;
    },
    hide() { element.classList.add('mx-hidden'); element.remove(); },
  };
}
