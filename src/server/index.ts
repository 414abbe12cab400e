export { createHttpApi, summarize } from './http-api.js';
export { WEB_PAGE } from './web-page.js';
