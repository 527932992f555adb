import { describe, expect, it } from 'vitest';
import { heldout } from './heldout.ts';

describe('held-out texts', () => {
  it('has the six training domains, each with a reader-facing name', () => {
    expect(heldout.domains).toEqual(['c', 'english', 'german', 'manpages', 'math', 'python']);
    expect(heldout.domains.map(heldout.label)).toEqual(['C', 'English', 'German', 'man pages', 'arithmetic', 'Python']);
    expect(heldout.label('klingon')).toBe('klingon');
  });

  it('loads a domain\'s text, and names the domains when asked for one it lacks', async () => {
    expect((await heldout.text('python')).length).toBeGreaterThan(1000);
    await expect(heldout.text('klingon')).rejects.toThrow(/no held-out text for "klingon"; the domains are c, english/);
  });
});
