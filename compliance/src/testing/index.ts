export * from './pg.js';
export * from './softhsm.js';
