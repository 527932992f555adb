// The Hugging Face Hub, the public surface: model ids ("org/name@revision"), resolve URLs, the
// Hub's answers as typed errors, and a CheckpointSource that reads a model straight from the Hub.
// Browser- and worker-safe; the cache on disk is Node-only (../node.ts re-exports it).
export { parseRepoRef, formatRepoRef, looksLikeRepoRef, isCommitHash, DEFAULT_REVISION, type RepoRef } from './repo-ref.ts';
export { DEFAULT_ENDPOINT, normalizeEndpoint, resolveUrl, repoPageUrl, quote, sameHost } from './urls.ts';
export { HubError, type HubErrorCode, type HubErrorDetails } from './errors.ts';
export { authHeaders, normalizeEtag, fileMetadata, linkedSize, failure, type HubFileMetadata, type FailureContext } from './responses.ts';
export { hubSource, type HubSourceOptions, type HubCheckpointSource, type HubFileProgress } from './source.ts';
export { cachedHubSource, listStoredModels, removeStoredModel, clearStoredModels, HUB_CACHE_NAME, type CachedHubSource, type CachedHubSourceOptions, type StoredSnapshot } from './browser-cache.ts';
