// What the Hub page needs from the engine, bundled by Vite for tests/browser/hub-source.test.ts.
export { loadCheckpoint } from '../../engine/checkpoint/index.ts';
export { hubSource, HubError } from '../../engine/hub/index.ts';
