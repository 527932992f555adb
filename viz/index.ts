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
// The research views (issue 13): expert dashboards, routing structure, the lens, compare, patching.
export { createExpertDashboard, type ExpertDashboardOptions } from './expert-dashboard.ts';
export { createCoactivation, pairLift, type CoactivationOptions } from './coactivation.ts';
export { createTransitions, transitionPanels, type TransitionsOptions } from './transitions.ts';
export { createLensGrid, lensRows, pieceLabel, type LensGridOptions } from './lens-grid.ts';
export { createRoutingDiff, type RoutingDiffOptions } from './routing-diff.ts';
export { createPatchHeatmap, patchCell, type PatchHeatmapOptions } from './patch-heatmap.ts';
export { expertPickAt, type ExpertPick, type ExpertPickHandler } from './expert-pick.ts';
export { matrixCell, labelStep } from './matrix.ts';
export { CONTEXT_MARKS, type ExpertsData, type StructureData, type LensData, type PatchData, type DiffData } from './research-types.ts';
export { expertColor, textColorOn, probabilityScale, OKABE_ITO } from './palette.ts';
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
export { createTrainingCurves, type TrainingCurvesData, type TrainingCurvesOptions, type TrainingSeries } from './training-curves.ts';
export { createDomainShareGrid, gridColumns, type DomainShareData, type DomainShareOptions } from './domain-share-grid.ts';
