import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // A client-only SPA: the appliance serves build/ and answers unknown non-API paths with index.html.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // Absolute asset URLs, so the bootstrap script still resolves its imports once scripts/postbuild-csp.js
    // has moved it out of the page into a file under /_app/.
    paths: { relative: false },
    typescript: {
      config(tsconfig) {
        tsconfig.include.push('../scripts/**/*.js', '../paraglide.config.js', '../svelte.config.js');
      },
    },
  },
};

export default config;
