import { paraglideVitePlugin } from '@inlang/paraglide-js';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';
import { assertPluginsAreLocal, paraglideOptions } from './paraglide.config.js';

assertPluginsAreLocal();

/**
 * SvelteKit's generated root component hides its route announcer (for screen readers) with a style
 * attribute, which the appliance's CSP (style-src 'self') refuses. Strip the attribute; app.css hides
 * #svelte-announcer the same way.
 */
function announcerWithoutStyleAttribute(): Plugin {
  const styled = /(<div id="svelte-announcer"[^>]*?)\s+style="[^"]*"/;
  return {
    name: 'kyc-announcer-without-style-attribute',
    enforce: 'pre',
    transform(code, id) {
      if (!id.endsWith('/.svelte-kit/generated/root.svelte')) return null;
      if (!styled.test(code)) {
        this.error('the svelte-announcer markup in .svelte-kit/generated/root.svelte changed; update vite.config.ts');
      }
      return { code: code.replace(styled, '$1'), map: null };
    },
  };
}

export default defineConfig({
  plugins: [announcerWithoutStyleAttribute(), paraglideVitePlugin(paraglideOptions), sveltekit()],
  ssr: {
    // The server bundle only renders the SPA fallback page at build time. Bundle kit's own copy of `cookie`
    // (0.6): left external, the import resolves from .svelte-kit/output to the workspace root's cookie 2.x.
    noExternal: ['cookie'],
  },
  build: {
    // Vite inlines small assets as data: URLs by default; keep every asset a same-origin file.
    assetsInlineLimit: 0,
  },
});
