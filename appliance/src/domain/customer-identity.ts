/** Validation and role-based masking of customer identifiers. Pure functions. */

const GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const GB11643_CHECK = '10X98765432';

/** Upper-cases the trailing x and strips spaces, so the same number always indexes the same way. */
export function normalizeResidentId(value: string): string {
  return value.replace(/\s+/g, '').toUpperCase();
}

/** GB 11643-1999 citizen identity number: 17 digits + check character (ISO 7064 MOD 11-2) and a real birth date. */
export function isValidResidentId(value: string): boolean {
  const id = normalizeResidentId(value);
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1800 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * (GB11643_WEIGHTS[i] ?? 0);
  return GB11643_CHECK[sum % 11] === id[17];
}

export function normalizeDigits(value: string): string {
  return value.replace(/[\s-]+/g, '');
}

/** Mainland China mobile number (11 digits, 1[3-9]…), optionally with +86. */
export function isValidMobile(value: string): boolean {
  return /^(\+?86)?1[3-9]\d{9}$/.test(normalizeDigits(value));
}

export function normalizeMobile(value: string): string {
  return normalizeDigits(value).replace(/^\+?86(?=1\d{10}$)/, '');
}

/** Bank card number: 12–19 digits passing the Luhn check. */
export function isValidBankCard(value: string): boolean {
  const digits = normalizeDigits(value);
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let n = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

export function maskResidentId(id: string): string {
  const v = normalizeResidentId(id);
  return v.length <= 7 ? '*'.repeat(v.length) : `${v.slice(0, 3)}${'*'.repeat(v.length - 7)}${v.slice(-4)}`;
}

export function maskMobile(phone: string): string {
  const v = normalizeMobile(phone);
  return v.length < 7 ? '*'.repeat(v.length) : `${v.slice(0, 3)}${'*'.repeat(v.length - 7)}${v.slice(-4)}`;
}

export function maskBankCard(card: string): string {
  const v = normalizeDigits(card);
  return `${v.slice(0, 4)}${'*'.repeat(Math.max(0, v.length - 8))}${v.slice(-4)}`;
}

/** Keeps the first character (the family name for Chinese names, the initial otherwise). */
export function maskName(name: string): string {
  const chars = Array.from(name.trim());
  if (chars.length === 0) return '';
  return `${chars[0]}${'*'.repeat(Math.max(1, chars.length - 1))}`;
}
