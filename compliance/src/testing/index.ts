export * from './pg.js';
