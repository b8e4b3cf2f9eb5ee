export { teardown as default } from './pg-global.mjs';
