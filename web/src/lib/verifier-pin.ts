// The audit verifier key this browser trusts: pinned at first use (or by hand), so that a later change of the key
// the appliance presents — e.g. someone re-signing a rewritten log with a new key — shows as a failure instead of
// passing silently. The key is public; only its identity matters. Kept in localStorage, per browser profile.

const STORAGE_KEY = 'kyc.audit.verifierKey';

export interface PinnedKey {
  key: string;
  /** when this browser pinned it (ISO time) */
  since: string;
}

export type PinCheck = { kind: 'first-use'; pin: PinnedKey } | { kind: 'match'; pin: PinnedKey } | { kind: 'changed'; pin: PinnedKey; served: string };

function read(storage: Storage): PinnedKey | null {
  try {
    const v = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null') as Partial<PinnedKey> | null;
    return v && typeof v.key === 'string' && typeof v.since === 'string' ? { key: v.key, since: v.since } : null;
  } catch {
    return null;
  }
}

/** Pins `key` (replacing any earlier pin) and returns the pin. */
export function pinVerifierKey(key: string, storage: Storage = localStorage, now = new Date()): PinnedKey {
  const pin = { key: key.trim(), since: now.toISOString() };
  storage.setItem(STORAGE_KEY, JSON.stringify(pin));
  return pin;
}

/** Compares the served key with the pin; with no pin yet, pins the served key (trust on first use). */
export function checkVerifierPin(served: string, storage: Storage = localStorage, now = new Date()): PinCheck {
  const pin = read(storage);
  if (!pin) return { kind: 'first-use', pin: pinVerifierKey(served, storage, now) };
  return pin.key === served.trim() ? { kind: 'match', pin } : { kind: 'changed', pin, served: served.trim() };
}

/** `name+keyid` of a verifier key string, for display (the full key is long). */
export function keyLabel(key: string): string {
  const parts = key.trim().split('+');
  return parts.length >= 3 ? `${parts[0]}+${parts[1]}` : key.trim().slice(0, 40);
}
