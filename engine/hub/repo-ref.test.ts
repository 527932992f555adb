// Model ids as people write them, validated by the Hub's own rules.
import { describe, expect, it } from 'vitest';
import { HubError } from './errors.ts';
import { formatRepoRef, isCommitHash, looksLikeRepoRef, parseRepoRef } from './repo-ref.ts';

describe('parseRepoRef', () => {
  it('reads org/name on main, and org/name@revision for a branch, tag, commit or PR ref', () => {
    expect(parseRepoRef('mistralai/Mixtral-8x7B-v0.1')).toEqual({ repo: 'mistralai/Mixtral-8x7B-v0.1', revision: 'main' });
    expect(parseRepoRef('ibm-granite/granite-3.1-1b-a400m-base@v1.0')).toEqual({ repo: 'ibm-granite/granite-3.1-1b-a400m-base', revision: 'v1.0' });
    expect(parseRepoRef('a_b/c.d@refs/pr/1').revision).toBe('refs/pr/1');
    const commit = '0123456789abcdef0123456789abcdef01234567';
    expect(parseRepoRef(`org/name@${commit}`).revision).toBe(commit);
  });

  it.each([
    ['name', 'org/name'],
    ['org/name/extra', 'org/name'],
    ['-org/name', 'start'],
    ['org/name.', 'end'],
    ['org/na--me', "'--'"],
    ['org/na..me', "'..'"],
    ['org/name.git', '.git'],
    ['org/na me', 'letters'],
    ['org/name@', 'empty'],
    ['org/name@a/../b', "'..'"],
    ['org/name@a\\b', 'backslash'],
  ])('refuses %s, saying why', (text, why) => {
    expect(() => parseRepoRef(text)).toThrow(HubError);
    expect(() => parseRepoRef(text)).toThrow(why);
  });

  it('tells a model id from a path', () => {
    expect(looksLikeRepoRef('org/name')).toBe(true);
    expect(looksLikeRepoRef('org/name@main')).toBe(true);
    expect(looksLikeRepoRef('./models/x')).toBe(false);
    expect(looksLikeRepoRef('/abs/path')).toBe(false);
    expect(looksLikeRepoRef('models/mixscope-tiny/')).toBe(false);
    expect(looksLikeRepoRef('a/b/c')).toBe(false);
  });

  it('formats back, leaving out the default revision', () => {
    expect(formatRepoRef(parseRepoRef('org/name'))).toBe('org/name');
    expect(formatRepoRef(parseRepoRef('org/name@v2'))).toBe('org/name@v2');
  });

  it('takes only a full 40-digit lowercase hash as a commit', () => {
    expect(isCommitHash('0123456789abcdef0123456789abcdef01234567')).toBe(true);
    expect(isCommitHash('0123456')).toBe(false);
    expect(isCommitHash('0123456789ABCDEF0123456789abcdef01234567')).toBe(false);
  });
});
