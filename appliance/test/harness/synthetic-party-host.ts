// A process of synthetic parties inside a network namespace, driven over Node IPC by startPartyHost()
// (synthetic-party.ts). Arguments: the RTP loop file and the appliance's CA certificate file.
import { readFileSync } from 'node:fs';
import { loadRtpLoop, SyntheticParty, type HostReply, type HostRequest, type PartyStats } from './synthetic-party.js';

const [loopFile, caFile] = process.argv.slice(2);
if (!loopFile || !caFile || !process.send) throw new Error('usage: synthetic-party-host <rtp-loop.json> <ca.crt> (with an IPC channel)');
const loop = await loadRtpLoop(loopFile);
const ca = readFileSync(caFile, 'utf8');
const parties = new Map<string, SyntheticParty>();

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.op) {
    case 'start': {
      const party = new SyntheticParty({ ...req.spec, ca, loop });
      parties.set(req.id, party);
      await party.start();
      return undefined;
    }
    case 'stop': {
      const party = parties.get(req.id);
      parties.delete(req.id);
      await party?.stop();
      return undefined;
    }
    case 'stats': {
      const all: Record<string, PartyStats> = {};
      for (const [id, p] of parties) all[id] = p.stats();
      return all;
    }
  }
}

process.on('message', (m: HostRequest & { seq: number }) => {
  const reply = (r: HostReply) => process.send?.(r);
  handle(m).then(
    (result) => reply({ seq: m.seq, ok: true, result }),
    (err: unknown) => reply({ seq: m.seq, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => {
  void Promise.all([...parties.values()].map((p) => p.stop().catch(() => undefined))).finally(() => process.exit(0));
});
process.send({ ready: true });
