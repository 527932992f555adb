// A lightweight tooltip. Token text comes from a model and may contain markup, so lines are set
// with textContent only: whatever a token says is shown, never parsed.

export interface Tooltip {
  show(lines: string[], event: MouseEvent): void;
  hide(): void;
  element: HTMLDivElement;
}

/** A tooltip positioned inside `host` (which must be position: relative). */
export function createTooltip(host: HTMLElement): Tooltip {
  const element = document.createElement('div');
  element.className = 'mx-tooltip mx-hidden';
  element.setAttribute('role', 'tooltip');
  host.appendChild(element);
  return {
    element,
    show(lines, event) {
      element.textContent = lines.join('\n');
      element.classList.remove('mx-hidden');
      const box = host.getBoundingClientRect();
      const w = element.offsetWidth;
      let x = event.clientX - box.left + 12;
      // Flip to the left of the pointer rather than spill past the view's right edge.
      if (x + w > box.width) x = Math.max(0, event.clientX - box.left - w - 12);
      element.style.transform = `translate(${x}px, ${event.clientY - box.top + 14}px)`;
    },
    hide() { element.classList.add('mx-hidden'); },
  };
}
