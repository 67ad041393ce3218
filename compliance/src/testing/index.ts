export * from './pg.js';
export * from './tsa.js';
