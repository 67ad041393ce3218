export * from './errors.js';
export * from './streaming-aead.js';
export * from './keys.js';
export * from './archive-check.js';
export * from './pkcs11-keyring.js';
export * from './keyring-set.js';
