/** `1 epoch`, `2 epochs`, `0 workers`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
