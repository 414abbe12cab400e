export { createHttpApi, inlineDisposition, isLoopback, summarize, type HttpApiOptions } from './http-api.js';
export { WEB_PAGE } from './web-page.js';
export { closeHttp, listenHttp, REQUEST_TIMEOUTS, type RequestTimeouts } from './listen-http.js';
