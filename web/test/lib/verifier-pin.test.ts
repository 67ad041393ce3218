import t from 'tap';
import { checkVerifierPin, keyLabel, pinVerifierKey } from '../../src/lib/verifier-pin.js';

/** A Storage over a Map (the browser's localStorage, as the module uses it). */
function memoryStorage(): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, String(v)),
  };
}

const A = 'kyc-appliance.local/audit+c1030c83+AaAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const B = 'kyc-appliance.local/audit+0badcafe+AbBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

t.test('trust on first use, then the pinned key must match', async (t) => {
  const s = memoryStorage();
  const first = checkVerifierPin(`${A}\n`, s, new Date('2026-11-01T08:00:00Z'));
  t.match(first, { kind: 'first-use', pin: { key: A, since: '2026-11-01T08:00:00.000Z' } }, 'the served key is pinned, trimmed');
  t.match(checkVerifierPin(A, s), { kind: 'match', pin: { key: A, since: '2026-11-01T08:00:00.000Z' } }, 'the same key matches and keeps its date');
  t.match(checkVerifierPin(B, s), { kind: 'changed', pin: { key: A }, served: B }, 'another key is reported, not pinned');
  t.match(checkVerifierPin(B, s), { kind: 'changed' }, 'and stays reported');
  pinVerifierKey(B, s, new Date('2026-11-20T08:00:00Z'));
  t.match(checkVerifierPin(B, s), { kind: 'match', pin: { key: B, since: '2026-11-20T08:00:00.000Z' } }, 'until it is pinned on purpose');
});

t.test('a damaged pin is treated as none (and replaced)', async (t) => {
  const s = memoryStorage();
  s.setItem('kyc.audit.verifierKey', '{not json');
  t.match(checkVerifierPin(A, s), { kind: 'first-use' });
  s.setItem('kyc.audit.verifierKey', JSON.stringify({ key: 5 }));
  t.match(checkVerifierPin(A, s), { kind: 'first-use' });
});

t.test('labels show name and key id', async (t) => {
  t.equal(keyLabel(A), 'kyc-appliance.local/audit+c1030c83');
  t.equal(keyLabel('garbage'), 'garbage');
});
