// The public face of viz/: seven views (token strip, router heatmap, expert load, routing paths,
// attention map, attention grid, next token), their shared pieces, and the data contract.
export type * from './types.ts';
export { createTokenStrip, type TokenStripOptions } from './token-strip.ts';
export { createRouterHeatmap, heatmapLayout, type RouterHeatmapOptions } from './router-heatmap.ts';
export { createExpertLoad, panelColumns, type ExpertLoadOptions } from './expert-load.ts';
export { createAttentionMap, attentionRows, type AttentionMapOptions } from './attention-map.ts';
export { createAttentionGrid, thumbSize, type AttentionGridOptions } from './attention-grid.ts';
export { createRoutingPaths, tokenLinks, type RoutingPathsOptions } from './routing-paths.ts';
export { createNextToken, type NextTokenOptions } from './next-token.ts';
export { expertColor, textColorOn, probabilityScale, OKABE_ITO } from './palette.ts';
export { expertPaint, choiceCounts, paintKey, MANY_EXPERTS, FOCUS, OTHER_EXPERT, type ExpertPaint } from './many-experts.ts';
export { createHoverLink, type HoverLink } from './hover.ts';
export { renderExpertLegend } from './legend.ts';
export { createTooltip, type Tooltip } from './tooltip.ts';
export { csvCell, rowsToCsv, rowsToJson, svgToString, svgToPngBlob, downloadBlob, type Row } from './export.ts';
export { createToolbar, type ExportSource } from './toolbar.ts';
export { ensureStyles } from './style.ts';
export { expertLoad, type ExpertLoad } from './load.ts';
export { firstChoiceCounts, firstChoiceFlows, sankeyLayout, ribbonPath, type FlowNode, type Ribbon } from './flows.ts';
export { headPattern, attentionRow, kvHeadOf, kvGroups, windowEdgePath, paintPattern } from './attention.ts';
export { displayToken, tokenLabel, newlineCount } from './token-text.ts';
export { BASE_DEFAULTS, type BaseOptions, type View } from './view.ts';
export { emptyRouting, emptyAttention, emptyNextToken } from './empty.ts';
