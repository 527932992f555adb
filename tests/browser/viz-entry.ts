// What the viz test page needs: the viz module and the synthetic data, exposed on window by the page.
export * from '../../viz/index.ts';
export * as fixtures from './viz-fixtures.ts';
export { color as d3color } from 'd3';
