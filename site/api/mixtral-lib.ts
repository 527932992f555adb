// Pure helpers of the engine that notebooks use on configs other than the loaded model's
// (e.g. Mixtral-8x7B's published one): `mixtral.parseConfig(json)` validates and fills a Hugging
// Face config as the loader does (any family: Mixtral, OLMoE, Qwen2-MoE, Qwen3-MoE, Granite-MoE);
// `mixtral.countParameters(config)` counts total and per-token parameters exactly as the engine's
// model summary does; `mixtral.publishedConfigs` are the config.json files of published MoE
// checkpoints shipped in models/configs/ (sources in its README), as data. The routing-history
// statistics (router saturation, domain specialisation) read `heldout.routingHistory()`.
import { parseConfig } from '../../engine/config.ts';
import { countParameters } from '../../engine/params.ts';
import { isMoeLayer } from '../../engine/family.ts';
import { randomRepeatRates, layerRoutingStats } from '../../engine/analysis/routing-stats.ts';
import { domainDivergence, domainSpecialisation, firstChoiceShare, randomSaturation, routerSaturation } from '../../engine/analysis/routing-history.ts';
import mixtral8x7b from '../../models/configs/mixtral-8x7b-v0.1.json';
import mixtral8x22b from '../../models/configs/mixtral-8x22b-v0.1.json';
import olmoe from '../../models/configs/olmoe-1b-7b-0924.json';
import qwen15 from '../../models/configs/qwen1.5-moe-a2.7b-chat.json';
import qwen3 from '../../models/configs/qwen3-30b-a3b.json';
import granite from '../../models/configs/granite-3.1-1b-a400m.json';

/** A shipped config: a key for addresses and selectors, the checkpoint's name, the raw config.json. */
export interface PublishedConfig { key: string; name: string; checkpoint: string; config: Record<string, unknown> }

const publishedConfigs: readonly PublishedConfig[] = [
  { key: 'mixtral-8x7b', name: 'Mixtral-8x7B', checkpoint: 'mistralai/Mixtral-8x7B-v0.1', config: mixtral8x7b },
  { key: 'mixtral-8x22b', name: 'Mixtral-8x22B', checkpoint: 'mistralai/Mixtral-8x22B-v0.1', config: mixtral8x22b },
  { key: 'olmoe-1b-7b', name: 'OLMoE-1B-7B', checkpoint: 'allenai/OLMoE-1B-7B-0924', config: olmoe },
  { key: 'qwen1.5-moe-a2.7b', name: 'Qwen1.5-MoE-A2.7B', checkpoint: 'Qwen/Qwen1.5-MoE-A2.7B-Chat', config: qwen15 },
  { key: 'qwen3-30b-a3b', name: 'Qwen3-30B-A3B', checkpoint: 'Qwen/Qwen3-30B-A3B', config: qwen3 },
  { key: 'granite-3.1-1b-a400m', name: 'granite-3.1-1b-a400m', checkpoint: 'ibm-granite/granite-3.1-1b-a400m-base', config: granite },
];

export const mixtral = {
  parseConfig, countParameters, isMoeLayer, randomRepeatRates, layerRoutingStats, publishedConfigs,
  routerSaturation, randomSaturation, domainSpecialisation, domainDivergence, firstChoiceShare,
};
