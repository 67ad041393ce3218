import { error } from '@sveltejs/kit';
import { getTimeline } from '$lib/archive-api.js';
import { errorOf } from '$lib/labels.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { me } = await parent();
  if (!me?.roles.includes('auditor')) return { timeline: null };
  try {
    return { timeline: await getTimeline(params.id, fetch) };
  } catch (err) {
    const { status, code } = errorOf(err);
    const shown = status === 400 ? 404 : status >= 400 && status <= 599 ? status : 503;
    error(shown, { message: code, code });
  }
};
