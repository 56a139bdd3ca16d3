/**
 * How wide a chart's text is drawn, for laying it out where no browser measures it (the report is
 * written by Node, with no script in the page). The advance widths are DejaVu Sans's, what
 * `system-ui` and `sans-serif` are on a Debian or Ubuntu desktop and in its Chromium, and wider
 * than the system fonts of macOS and Windows, so that a layout that fits them fits those too.
 * Measured in Chromium (getComputedTextLength of each printable ASCII character, 11 px), in
 * hundredths of an em, rounded up. A count of characters times an average (6.5 px) drew "demo",
 * with its m, 5 px wider than counted: the next legend entry's line touched it.
 */

/** Widths of the characters 32 (space) to 126 (~), in hundredths of an em. */
const ASCII_HUNDREDTHS = [
  32, 41, 47, 84, 64, 96, 78, 28, 40, 40, 50, 84, 32, 37, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 34, 34, 84, 84, 84, 54, 100, 72, 69, 70, 78, 64, 58,
  78, 76, 30, 30, 66, 56, 87, 75, 79, 61, 79, 70, 64, 60, 74, 69, 99, 69, 62, 69, 40, 34, 40, 84, 50, 50, 62, 64, 55, 64, 62, 35, 64, 64, 28, 28, 58, 28, 98,
  64, 62, 64, 64, 40, 53, 40, 64, 60, 82, 60, 60, 53, 64, 34, 64, 84,
];

/** A character's width in em: ASCII from the table; past it, an em for "…" (measured) and the wide scripts (CJK, Hangul, full-width forms), else a wide Latin letter's 0.8. */
function charEm(ch: string): number {
  const code = ch.codePointAt(0) as number;
  const ascii = code >= 32 && code <= 126 ? ASCII_HUNDREDTHS[code - 32] : undefined;
  return ascii !== undefined ? ascii / 100 : code >= 0x1100 || code === 0x2026 ? 1 : 0.8;
}

/** About the width in px of `text` drawn at `sizePx` (an upper bound for the usual sans-serif fonts). */
export function textWidth(text: string, sizePx = 11): number {
  let em = 0;
  for (const ch of text) em += charEm(ch);
  return em * sizePx;
}

/** `text`, or as much of it as fits in `px` with "…" after it (at least its first character). */
export function cutToWidth(text: string, px: number, sizePx = 11): string {
  if (textWidth(text, sizePx) <= px) return text;
  const room = px / sizePx - charEm('…');
  const chars = [...text];
  let n = 1;
  let em = charEm(chars[0] as string);
  while (n < chars.length && em + charEm(chars[n] as string) <= room) em += charEm(chars[n++] as string);
  return `${chars.slice(0, n).join('')}…`;
}
