import { error } from '@sveltejs/kit';
import { getCase } from '$lib/api.js';
import { errorOf } from '$lib/labels.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { me } = await parent();
  if (!me) return { item: null };
  try {
    return { item: await getCase(params.id, fetch) };
  } catch (err) {
    const { status, code } = errorOf(err);
    // To the user, a malformed id in the address (400) is a case that does not exist.
    const shown = status === 400 ? 404 : status >= 400 && status <= 599 ? status : 503;
    // +error.svelte words the message from status and code in the current language.
    error(shown, { message: code, code });
  }
};
