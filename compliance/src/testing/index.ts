export * from './pg.js';
export * from './tsa.js';
export * from './softhsm.js';
