import { listCases } from '$lib/api.js';
import { errorOf } from '$lib/labels.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ parent, fetch }) => {
  const { me } = await parent();
  if (!me?.roles.includes('teller')) return { cases: null, casesError: null };
  try {
    return { cases: await listCases(fetch), casesError: null };
  } catch (err) {
    return { cases: null, casesError: errorOf(err) };
  }
};
