// Pure helpers of the engine that notebooks use on configs other than the loaded model's
// (e.g. Mixtral-8x7B's published one): `mixtral.parseConfig(json)` validates and fills a Hugging
// Face config as the loader does; `mixtral.countParameters(config)` counts total and per-token
// parameters exactly as the engine's model summary does. The routing-history statistics (router
// saturation, domain specialisation) read `heldout.routingHistory()`.
import { parseConfig } from '../../engine/config.ts';
import { countParameters } from '../../engine/params.ts';
import { randomRepeatRates, layerRoutingStats } from '../../engine/analysis/routing-stats.ts';
import { domainDivergence, domainSpecialisation, firstChoiceShare, randomSaturation, routerSaturation } from '../../engine/analysis/routing-history.ts';

export const mixtral = {
  parseConfig, countParameters, randomRepeatRates, layerRoutingStats,
  routerSaturation, randomSaturation, domainSpecialisation, domainDivergence, firstChoiceShare,
};
