/** Parses a duration such as `90s`, `10m`, `1h30m` or `2h` into whole seconds. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);

  const pattern = /(\d+(?:\.\d+)?)(h|m|s)/gy;
  let seconds = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    const amount = Number(match[1]);
    seconds += match[2] === 'h' ? amount * 3600 : match[2] === 'm' ? amount * 60 : amount;
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length) return null;
  return Math.round(seconds);
}

/** Formats seconds as k6 accepts them, for example `1h30m0s` or `45s`. */
export function formatDuration(totalSeconds: number): string {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
