export * from './errors.js';
export * from './streaming-aead.js';
export * from './keys.js';
export * from './archive-check.js';
