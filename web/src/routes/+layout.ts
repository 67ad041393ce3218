import { getMe } from '$lib/api.js';
import { errorOf } from '$lib/labels.js';
import type { LayoutLoad } from './$types';

// Client-only SPA served as static files by the appliance; there is no server rendering.
export const ssr = false;
export const prerender = false;

// Never throws: a failure here would leave no layout to show the error in, so the layout shows it itself.
export const load: LayoutLoad = async ({ fetch, route }) => {
  // Customers never sign in: the invitation link alone brings them to their pages.
  if (route.id?.startsWith('/join/') || route.id === '/service') return { me: null, sessionError: null, customer: true };
  try {
    return { me: await getMe(fetch), sessionError: null, customer: false };
  } catch (err) {
    return { me: null, sessionError: errorOf(err), customer: false };
  }
};
