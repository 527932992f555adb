// The Mixtral configuration, read from a Hugging Face config.json and checked for
// values that cannot describe a working model. The other MoE families (family.ts) are read into
// the same shape, in Mixtral's vocabulary, with what they do differently in `family`. A config is
// untrusted: its sizes are only bounded here (each fits a 32-bit index); the loader checks them
// against the files in hand (checkpoint/load.ts) before building anything proportional to them.
import { CheckpointError, describeValue } from './errors.ts';
import { modelTypeOf, readFamilyTraits, toMixtralNames, type FamilyTraits, type ModelType } from './family.ts';

/**
 * Normalised hyper-parameters (names follow Hugging Face's MixtralConfig, whatever the family:
 * num_local_experts is E and intermediate_size the routed experts' width F in every family).
 */
export interface MixtralConfig {
  model_type: ModelType;
  /** What this family does differently from Mixtral (all false/1/null for Mixtral). */
  family: FamilyTraits;
  vocab_size: number;
  hidden_size: number;            // D
  intermediate_size: number;      // F, one expert's width
  num_hidden_layers: number;      // L
  num_attention_heads: number;    // H
  num_key_value_heads: number;    // Hkv
  head_dim: number;               // from config when given, else D / H
  num_local_experts: number;      // E
  num_experts_per_tok: number;    // K
  rms_norm_eps: number;
  rope_theta: number;
  sliding_window: number | null;  // null: full causal attention
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  router_aux_loss_coef: number;
}

const FILE = 'config.json';

function fail(message: string): never {
  throw new CheckpointError('bad-config', FILE, message);
}

/** The largest size a config may give: every index into a tensor, a vocabulary or a window fits 32 bits. */
export const MAX_CONFIG_INT = 2 ** 31 - 1;

function positiveInt(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (v === undefined) fail(`missing "${key}"`);
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`"${key}" must be a positive integer, got ${describeValue(v)}`);
  if (v > MAX_CONFIG_INT) fail(`"${key}" is ${v}, more than ${MAX_CONFIG_INT}`);
  return v;
}

function positiveNumber(raw: Record<string, unknown>, key: string, fallback: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`"${key}" must be a positive number, got ${describeValue(v)}`);
  return v;
}

function optionalTokenId(raw: Record<string, unknown>, key: string, vocab: number): number | null {
  const v = raw[key];
  if (v === undefined || v === null) return null;
  // Some configs list several eos ids; the first is the one generation stops on by default.
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first !== 'number' || !Number.isInteger(first) || first < 0) fail(`"${key}" must be a token id, got ${describeValue(v)}`);
  if (first >= vocab) fail(`"${key}" is ${first}, outside the vocabulary (vocab_size ${vocab})`);
  return first;
}

/** Parse config.json text (or an already-parsed object) into a checked MixtralConfig. */
export function parseConfig(input: string | unknown): MixtralConfig {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try { raw = JSON.parse(input); } catch (e) { fail(`not valid JSON (${String((e as Error).message).slice(0, 80)})`); }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object');
  const model_type = modelTypeOf(raw as Record<string, unknown>);
  const r = toMixtralNames(raw as Record<string, unknown>, model_type);
  const hidden_size = positiveInt(r, 'hidden_size');
  const num_hidden_layers = positiveInt(r, 'num_hidden_layers');
  const num_attention_heads = positiveInt(r, 'num_attention_heads');
  const num_key_value_heads = positiveInt(r, 'num_key_value_heads', num_attention_heads);
  const num_local_experts = positiveInt(r, 'num_local_experts');
  const num_experts_per_tok = positiveInt(r, 'num_experts_per_tok');
  if (num_attention_heads % num_key_value_heads !== 0) {
    fail(`num_attention_heads (${num_attention_heads}) must be a multiple of num_key_value_heads (${num_key_value_heads})`);
  }
  if (num_experts_per_tok > num_local_experts) {
    fail(`num_experts_per_tok (${num_experts_per_tok}) cannot exceed num_local_experts (${num_local_experts})`);
  }
  let head_dim: number;
  if (r.head_dim !== undefined && r.head_dim !== null) {
    head_dim = positiveInt(r, 'head_dim');
  } else {
    if (hidden_size % num_attention_heads !== 0) {
      fail(`hidden_size (${hidden_size}) is not divisible by num_attention_heads (${num_attention_heads}) and no head_dim is given`);
    }
    head_dim = hidden_size / num_attention_heads;
  }
  if (head_dim % 2 !== 0) fail(`head_dim (${head_dim}) must be even for rotary embeddings`);
  const max_position_embeddings = positiveInt(r, 'max_position_embeddings', 4096 * 32);
  let sliding_window: number | null = null;
  if (r.sliding_window !== undefined && r.sliding_window !== null) sliding_window = positiveInt(r, 'sliding_window');
  const tie = r.tie_word_embeddings ?? false;
  if (typeof tie !== 'boolean') fail('"tie_word_embeddings" must be true or false');
  const vocab_size = positiveInt(r, 'vocab_size');
  return {
    model_type,
    family: readFamilyTraits(raw as Record<string, unknown>, model_type, num_hidden_layers),
    vocab_size,
    hidden_size,
    intermediate_size: positiveInt(r, 'intermediate_size'),
    num_hidden_layers,
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    num_local_experts,
    num_experts_per_tok,
    rms_norm_eps: positiveNumber(r, 'rms_norm_eps', 1e-5),
    rope_theta: positiveNumber(r, 'rope_theta', 1e6),
    sliding_window,
    max_position_embeddings,
    tie_word_embeddings: tie,
    bos_token_id: optionalTokenId(r, 'bos_token_id', vocab_size),
    eos_token_id: optionalTokenId(r, 'eos_token_id', vocab_size),
    router_aux_loss_coef: typeof r.router_aux_loss_coef === 'number' && Number.isFinite(r.router_aux_loss_coef) ? r.router_aux_loss_coef : 0.02,
  };
}
