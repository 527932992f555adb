import { describe, expect, it } from 'vitest';
import { shortLabel } from './engine-host.ts';

describe('the model label in the header', () => {
  it('is the last folder of a URL, decoded', () => {
    expect(shortLabel('http://127.0.0.1:5173/sub/mixscope-tiny/')).toBe('mixscope-tiny');
    expect(shortLabel('https://host/models/My%20Model')).toBe('My Model');
  });
  it('leaves a files label as it is', () => {
    expect(shortLabel('my-mixtral (5 files)')).toBe('my-mixtral (5 files)');
  });
});
