export * from './rules.js';
export * from './tenant.js';
export * from './app.js';
export * from './platform.js';
export * from './openapi.js';
export * from './validate.js';
export * from './tiers.js';
