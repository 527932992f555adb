// Linked hover: views share the hovered token (its absolute position) through a tiny pub/sub.

export interface HoverLink {
  get(): number | null;
  /** Hover a token by absolute position, or clear with null. Subscribers hear only changes. */
  set(position: number | null): void;
  subscribe(fn: (position: number | null) => void): () => void;
}

export function createHoverLink(): HoverLink {
  let current: number | null = null;
  const subscribers = new Set<(position: number | null) => void>();
  return {
    get: () => current,
    set(position) {
      if (position === current) return;
      current = position;
      for (const fn of [...subscribers]) fn(current);
    },
    subscribe(fn) {
      subscribers.add(fn);
      return () => { subscribers.delete(fn); };
    },
  };
}
