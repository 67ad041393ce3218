import { currentLocale } from '$lib/i18n.svelte.js';

export function formatDateTime(iso: string, options: { seconds?: boolean } = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(currentLocale(), {
    dateStyle: 'medium',
    timeStyle: options.seconds ? 'medium' : 'short',
  }).format(date);
}
