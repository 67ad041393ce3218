// China's citizen identification number (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence and
// an ISO 7064 MOD 11-2 check character (0–9 or X).

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

/** The check character for the first 17 digits. */
export function gb11643CheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new Error('17 digits expected');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * (WEIGHTS[i] as number);
  return CHECK[sum % 11] as string;
}

/** A well-formed number: 18 characters, a real birth date not in the future, and the right check character. */
export function isValidGb11643(id: string): boolean {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  if (id.startsWith('000000')) return false;
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || date.getTime() > Date.now()) return false;
  return gb11643CheckChar(id.slice(0, 17)) === id[17];
}

/**
 * The ID number in OCR text: runs of digits (spaces and common misreads of X removed) 18 long; a candidate that
 * validates wins, else the first 18-character run (reported with checksumValid false).
 */
export function findIdNumber(text: string): { idNumber: string | null; checksumValid: boolean } {
  const candidates: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const compact = line.replace(/[\s·.,'"`-]/g, '').replace(/[xх×]/g, 'X');
    for (const m of compact.matchAll(/\d{17}[\dX]/g)) candidates.push(m[0]);
  }
  const valid = candidates.find(isValidGb11643);
  if (valid) return { idNumber: valid, checksumValid: true };
  return { idNumber: candidates[0] ?? null, checksumValid: false };
}
