/**
 * The Range header of a media request (RFC 9110 §14), reduced to what a <video> element and a download manager
 * send: one byte range. Pure.
 *
 * - no header → the whole representation
 * - `bytes=a-b`, `bytes=a-` (open-ended), `bytes=-n` (the last n bytes; larger than the file = the whole file)
 * - a range that starts at or beyond the end, `bytes=-0`, a last position before the first, or several ranges →
 *   unsatisfiable (416 with `Content-Range: bytes *\/size`). Several ranges are refused rather than coalesced:
 *   media players never ask for them, and a multipart/byteranges answer would decrypt the same segments twice.
 * - anything that is not `bytes=` followed by digits and one dash → malformed (400)
 */
export type ByteRangeRequest = { kind: 'full' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' } | { kind: 'malformed' };

const SPEC = /^(\d*)-(\d*)$/;

export function parseByteRange(header: string | undefined, size: number): ByteRangeRequest {
  if (header === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: 'malformed' };
  const specs = (m[1] ?? '').split(',').map((s) => s.trim());
  const parsed: Array<{ first: string; last: string }> = [];
  for (const s of specs) {
    const r = SPEC.exec(s);
    if (!r || (r[1] === '' && r[2] === '')) return { kind: 'malformed' };
    parsed.push({ first: r[1] ?? '', last: r[2] ?? '' });
  }
  if (parsed.length !== 1) return { kind: 'unsatisfiable' };
  const { first, last } = parsed[0]!;
  // Positions beyond 2^53 cannot be represented exactly, and no sealed file is that large.
  const big = (digits: string) => digits.length > 15;
  if (first === '') {
    const n = big(last) ? Number.MAX_SAFE_INTEGER : Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  if (big(first)) return { kind: 'unsatisfiable' };
  const start = Number(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  if (last === '') return { kind: 'range', start, end: size - 1 };
  const end = big(last) ? Number.MAX_SAFE_INTEGER : Number(last);
  if (end < start) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(end, size - 1) };
}
