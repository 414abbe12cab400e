export { MongoStore, flavourOf } from './mongo-store.js';
export type { MongoCollectionLike, MongoCollections, MongoFlavour, MongoStoreOptions } from './mongo-store.js';
export { mongoFilter, searchPipeline, countPipeline, facetPipeline, toMongoDoc, fromMongoDoc, indexSpecs, textPrefilter } from './mongo-query.js';
