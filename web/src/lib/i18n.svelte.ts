// Makes Paraglide's locale reactive: message functions call getLocale(), which here reads a $state, so
// every rendered message follows a language switch without reloading the page (and losing form input).
import { getLocale, locales, overwriteGetLocale, setLocale, type Locale } from '$lib/paraglide/runtime.js';

let current = $state<Locale>(getLocale());
overwriteGetLocale(() => current);

export function currentLocale(): Locale {
  return current;
}

export function otherLocale(): Locale {
  return locales.find((locale) => locale !== current) ?? current;
}

export function switchLocale(next: Locale): void {
  // Paraglide's own setter persists the choice (localStorage strategy); reload: false because the
  // rendering follows `current`. Its type allows a promise, which only a custom (async) strategy
  // returns; ours has none.
  void setLocale(next, { reload: false });
  current = next;
}
