export { createHttpApi, editsAllowed, inlineDisposition, isLoopback, sameOrigin, summarize, type HttpApiOptions, type TagEdit, type TagEditing } from './http-api.js';
export { WEB_PAGE } from './web-page.js';
export { closeHttp, listenHttp, REQUEST_TIMEOUTS, type RequestTimeouts } from './listen-http.js';
