// Compiles the messages into src/lib/paraglide before `vite build` and `svelte-check` (which needs the
// generated modules to exist). The Vite plugin would compile them too, but the inlang SDK leaves handles
// open that keep Node alive for about 30 s afterwards; this script exits at once, and the plugin then finds
// its inputs unchanged.
import { compile } from '@inlang/paraglide-js';
import { assertPluginsAreLocal, paraglideOptions } from '../paraglide.config.js';

assertPluginsAreLocal();
await compile(paraglideOptions);
process.exit(0);
