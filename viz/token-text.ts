// How a token's text is shown: whitespace made visible without losing it.
import type { TokenInfo } from './types.ts';

/**
 * Text for display. Newlines become "↵" and tabs "⇥"; spaces are kept (`spaces: 'keep'`, for prose)
 * or shown as "␣" (`'mark'`, for labels where a leading space would be invisible). An empty text
 * (a partial UTF-8 character) falls back to the vocabulary piece.
 */
export function displayToken(token: Pick<TokenInfo, 'text' | 'piece'>, spaces: 'keep' | 'mark' = 'keep'): string {
  const raw = token.text === '' ? token.piece : token.text;
  let s = raw.replace(/\r?\n/g, '↵').replace(/\t/g, '⇥');
  if (spaces === 'mark') s = s.replace(/ /g, '␣');
  return s;
}

/**
 * A bare vocabulary piece (as the lens, the expert report and patching give tokens) as a token:
 * SentencePiece's ▁ a space, the byte pieces of newline and tab those characters.
 */
export function pieceToken(piece: string): Pick<TokenInfo, 'text' | 'piece'> {
  return { text: piece.replace(/▁/g, ' ').replace(/<0x0A>/g, '\n').replace(/<0x09>/g, '\t'), piece };
}

/** Number of line breaks a token ends lines with, so prose layouts can break after it. */
export function newlineCount(text: string): number {
  return (text.match(/\n/g) ?? []).length;
}

/** Short label for axes: marked spaces, cut to `max` characters. */
export function tokenLabel(token: Pick<TokenInfo, 'text' | 'piece'>, max = 12): string {
  const s = displayToken(token, 'mark');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
