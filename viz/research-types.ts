// The data of the research views: the engine's own results (types only: viz/ never imports the
// engine's code), as the CLI and the site's `mixscope` give them.
import type { ExpertsReport } from '../engine/analysis/experts.ts';
import type { RoutingAnalysis } from '../engine/analysis/analyze-routing.ts';
import type { LensLayer } from '../engine/lens/logit-lens.ts';
import type { RoutingDifference } from '../engine/compare/compare-routing.ts';
import type { RoutingData, TokenInfo } from './types.ts';

export type { ExpertsReport, RoutingAnalysis, LensLayer, RoutingDifference };

/** The expert dashboard's data: `mixscope.experts(...)` or the CLI's `experts` output. */
export type ExpertsData = ExpertsReport;

/**
 * How a context's text marks its token (engine/analysis/experts.ts: CONTEXT_OPEN, CONTEXT_CLOSE;
 * a test checks the two agree).
 */
export const CONTEXT_MARKS = ['⟨', '⟩'] as const;

/** The routing structure views' data: `mixscope.analyze(...)` or the CLI's `analyze` output. */
export type StructureData = Pick<RoutingAnalysis, 'experts' | 'top_k' | 'tokens' | 'layers'>;

/** The lens grid's data: `mixscope.lens(...)`, or a generation's `lens` with the `lens` option. */
export interface LensData { tokens: TokenInfo[]; layers: LensLayer[] }

/** The patching heatmap's data: `mixscope.patch(...)` or the CLI's `patch` output (tokens as pieces). */
export interface PatchData {
  tokens: (TokenInfo | string)[];
  clean_diff: number;
  corrupt_diff: number;
  /** (layers, positions) */
  effect: number[][];
  what?: string;
  answer?: { id: number; piece: string };
  wrong?: { id: number; piece: string };
  /** The corrupted text's tokens, shown under the clean ones where they differ. */
  corruptTokens?: (TokenInfo | string)[];
}

/** The difference view's data: `mixscope.compare(...)`. */
export interface DiffData { a: RoutingData; b: RoutingData; difference: RoutingDifference; labels?: [string, string] }
