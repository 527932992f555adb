import { describe, expect, it } from 'vitest';
import { gridColumns } from './domain-share-grid.ts';

describe('domain share grid layout', () => {
  it('puts as many checkpoint panels in a row as the width holds, at least one, never more than there are', () => {
    // A panel is 8 experts x 14 px plus a 10 px gap; 78 px of domain labels come first.
    expect(gridColumns(78 + 7 * 122 - 10, 8, 14, 7)).toBe(7);
    expect(gridColumns(78 + 7 * 122 - 11, 8, 14, 7)).toBe(6);
    expect(gridColumns(700, 8, 14, 3)).toBe(3);
    expect(gridColumns(120, 8, 14, 7)).toBe(1);
  });
});
