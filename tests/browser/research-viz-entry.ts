// What the research views' test page needs: the viz module, the viz tests' synthetic data and
// the research views' synthetic data, exposed on window by the page.
export * from '../../viz/index.ts';
export * as fixtures from './viz-fixtures.ts';
export * as research from './research-fixtures.ts';
export { CONTEXT_OPEN, CONTEXT_CLOSE } from '../../engine/analysis/experts.ts';
