export { createHttpApi, isLoopback, summarize, type HttpApiOptions } from './http-api.js';
export { WEB_PAGE } from './web-page.js';
export { listenHttp } from './listen-http.js';
