import { currentLocale } from '$lib/i18n.svelte.js';

export function formatDateTime(iso: string, options: { seconds?: boolean } = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(currentLocale(), {
    dateStyle: 'medium',
    timeStyle: options.seconds ? 'medium' : 'short',
  }).format(date);
}

/** A time of today, e.g. for chat messages. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(currentLocale(), { timeStyle: 'medium' }).format(date);
}
