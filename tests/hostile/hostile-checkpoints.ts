// Hostile checkpoints, built by the tests into a folder: each lies in one way a stranger's file
// can (a header value of 10 MB, a header nested 5 million deep, a config claiming 10^8 layers,
// NaN weights, two 16 GiB tensors...). Small on disk: large files are sparse (all hole but
// their header), and the rest are a tiny model's tensors with one thing changed. The CLI test
// (hostile-cli.test.ts) and the site test (tests/browser/hostile-site.test.ts) use the same cases.
import { closeSync, mkdirSync, openSync, ftruncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { safetensorsBytes, encode, type TensorIn } from '../../engine/checkpoint/testing/write-safetensors.ts';
import { tinyTensors, TINY_CONFIG } from '../../engine/checkpoint/testing/tiny-checkpoint.ts';
import type { CheckpointErrorCode } from '../../engine/errors.ts';

export interface HostileCase {
  name: string;
  /** What it is, as the table says it. */
  what: string;
  /** The error the load must end with: its code, and what its message must say. */
  code: CheckpointErrorCode;
  message: RegExp;
  /** Write the checkpoint's files into `dir` (which exists). */
  build(dir: string): void;
}

const MB = 1e6;

/** A safetensors file of `json` as its header and `dataBytes` of hole after it (sparse on disk). */
function sparseSafetensors(file: string, json: string | Uint8Array, dataBytes: number, headerLength?: number): void {
  const h = typeof json === 'string' ? Buffer.from(json) : Buffer.from(json);
  const length = Buffer.alloc(8);
  const n = headerLength ?? h.length;
  length.writeBigUInt64LE(BigInt(n));
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, length, 0, 8, 0);
    writeSync(fd, h, 0, h.length, 8);
    ftruncateSync(fd, 8 + n + dataBytes);
  } finally {
    closeSync(fd);
  }
}

/** The tiny model's tensors, in a header that also carries `metadata`. */
function tinyWith(dir: string, over: { tensors?: (t: Record<string, TensorIn>) => void; config?: Record<string, unknown>; metadata?: Record<string, string> } = {}): void {
  const config = { ...TINY_CONFIG, ...over.config };
  const t = tinyTensors('F32');
  over.tensors?.(t);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(t, { metadata: over.metadata }));
}

/** Replace value `i` of tensor `name` (F32) with `v`, or every value when i is 'all'. */
function poison(t: Record<string, TensorIn>, name: string, i: number | 'all', v: number): void {
  const x = new Float32Array(t[name].data.slice().buffer);
  if (i === 'all') x.fill(v); else x[i] = v;
  t[name] = { ...t[name], data: new Uint8Array(x.buffer) };
}

/** `{"a":` then `depth` opening brackets: valid JSON up to its end, nested as deep as asked. */
const deep = (prefix: string, depth: number) => Buffer.concat([Buffer.from(prefix), Buffer.alloc(depth, '[')]);

export const HOSTILE_CASES: HostileCase[] = [
  {
    name: 'header-string-10mb',
    what: 'a safetensors header value of 10 MB (a long string)',
    code: 'over-limit',
    message: /model\.safetensors.*header has a string longer than 65536 bytes/,
    build(dir) {
      const header = `{"__metadata__":{"format":"${'x'.repeat(10 * MB)}"}}`;
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
      sparseSafetensors(path.join(dir, 'model.safetensors'), header, 0);
    },
  },
  {
    name: 'header-string-100mb',
    what: 'a safetensors header value of 100 MB (a long string; sparse: the string is the hole)',
    code: 'over-limit',
    message: /model\.safetensors.*header has a string longer than 65536 bytes/,
    build(dir) {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
      sparseSafetensors(path.join(dir, 'model.safetensors'), '{"__metadata__":{"format":"', 0, 99_999_990);
    },
  },
  {
    name: 'header-nested-5m',
    what: 'a header nested 5 million levels deep',
    code: 'over-limit',
    message: /model\.safetensors \[a\]: header has an entry that nests deeper than 3 levels/,
    build(dir) {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
      sparseSafetensors(path.join(dir, 'model.safetensors'), deep('{"a":', 5_000_000), 0);
    },
  },
  {
    name: 'config-layers-1e8',
    what: 'config.json with num_hidden_layers: 1e8',
    code: 'bad-config',
    message: /config\.json: describes 8\.00e\+10 parameters \(100000000 layers, 2 experts, hidden 8, vocab 16\): at least 160\.0 GB, but model\.safetensors hold 10\.\d kB/,
    build(dir) { tinyWith(dir, { config: { num_hidden_layers: 1e8 } }); },
  },
  {
    name: 'config-experts-5e7',
    what: 'config.json with num_local_experts: 5e7',
    code: 'bad-config',
    message: /config\.json: describes 2\.96e\+10 parameters \(2 layers, 50000000 experts, hidden 8, vocab 16\): at least 59\.2 GB/,
    build(dir) { tinyWith(dir, { config: { num_local_experts: 5e7 } }); },
  },
  {
    name: 'config-nested',
    what: 'a config.json nested 3 million levels deep',
    code: 'over-limit',
    message: /config\.json: nests deeper than 32 levels/,
    build(dir) {
      tinyWith(dir);
      writeFileSync(path.join(dir, 'config.json'), deep('{"a":', 3_000_000));
    },
  },
  {
    name: 'tokenizer-nested',
    what: 'a tokenizer.json nested 5 million levels deep',
    code: 'over-limit',
    message: /tokenizer\.json: nests deeper than 64 levels/,
    build(dir) {
      tinyWith(dir);
      writeFileSync(path.join(dir, 'tokenizer.json'), deep('{"model":', 5_000_000));
    },
  },
  {
    name: 'nan-q-weight',
    what: 'one NaN in a q_proj weight',
    code: 'non-finite',
    message: /model\.safetensors \[model\.layers\.1\.self_attn\.q_proj\.weight\]: holds NaN at \[2,5\] \(flat index 21 of 64\)/,
    build(dir) { tinyWith(dir, { tensors: (t) => poison(t, 'model.layers.1.self_attn.q_proj.weight', 21, NaN) }); },
  },
  {
    name: 'inf-router-gate',
    what: 'a router gate of infinities',
    code: 'non-finite',
    message: /\[model\.layers\.0\.block_sparse_moe\.gate\.weight\]: holds Infinity at \[0,0\]/,
    build(dir) { tinyWith(dir, { tensors: (t) => poison(t, 'model.layers.0.block_sparse_moe.gate.weight', 'all', Infinity) }); },
  },
  {
    name: 'nan-lm-head-bf16',
    what: 'NaN in lm_head (BF16)',
    code: 'non-finite',
    message: /\[lm_head\.weight\]: holds NaN at \[15,7\]/,
    build(dir) {
      tinyWith(dir, { tensors: (t) => {
        const values = new Float32Array(16 * 8).fill(0.5);
        values[127] = NaN;
        t['lm_head.weight'] = { dtype: 'BF16', shape: [16, 8], data: encode(values, 'BF16') };
      } });
    },
  },
  {
    name: 'two-16gib-tensors',
    what: 'safetensors with 2 x 16 GiB tensors (sparse)',
    code: 'too-large',
    // As float32 (the site with no format chosen), or at stored width (the CLI's CPU default), where
    // the second tensor crosses the limit: either way refused before allocating, naming the tensor.
    message: /model\.safetensors \[(model\.embed_tokens|lm_head)\.weight\]: (34\.4 GB as float32|17\.2 GB as BF16) \(shape \[65536,131072\]\)/,
    build(dir) {
      // Every tensor matches the config, so nothing but the size is wrong.
      const config = {
        ...TINY_CONFIG, vocab_size: 65536, hidden_size: 131072, head_dim: 2, num_attention_heads: 1, num_key_value_heads: 1,
        intermediate_size: 2, num_hidden_layers: 1, num_local_experts: 2, num_experts_per_tok: 1,
      };
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
      const D = 131072, V = 65536;
      const shapes: Record<string, number[]> = {
        'model.embed_tokens.weight': [V, D],
        'model.layers.0.input_layernorm.weight': [D],
        'model.layers.0.self_attn.q_proj.weight': [2, D],
        'model.layers.0.self_attn.k_proj.weight': [2, D],
        'model.layers.0.self_attn.v_proj.weight': [2, D],
        'model.layers.0.self_attn.o_proj.weight': [D, 2],
        'model.layers.0.post_attention_layernorm.weight': [D],
        'model.layers.0.block_sparse_moe.gate.weight': [2, D],
        ...Object.fromEntries([0, 1].flatMap((e) => [
          [`model.layers.0.block_sparse_moe.experts.${e}.w1.weight`, [2, D]],
          [`model.layers.0.block_sparse_moe.experts.${e}.w2.weight`, [D, 2]],
          [`model.layers.0.block_sparse_moe.experts.${e}.w3.weight`, [2, D]],
        ])),
        'model.norm.weight': [D],
        'lm_head.weight': [V, D],
      };
      const header: Record<string, unknown> = {};
      let offset = 0;
      for (const [name, shape] of Object.entries(shapes)) {
        const bytes = 2 * shape.reduce((a, b) => a * b, 1);
        header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
        offset += bytes;
      }
      sparseSafetensors(path.join(dir, 'model.safetensors'), JSON.stringify(header), offset);
    },
  },
  {
    name: 'index-long-shard-name',
    what: 'a shard index naming a shard with a 1 MB name',
    code: 'over-limit',
    message: /model\.safetensors\.index\.json: has a string longer than 65536 characters/,
    build(dir) {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
      writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': `${'s'.repeat(MB)}.safetensors` } }));
    },
  },
  {
    name: 'header-many-entries',
    what: 'a 6 MB header listing 100 000 empty tensors, none of them the model\'s',
    code: 'missing-tensor',
    message: /\[model\.embed_tokens\.weight\]: tensor is in none of the files searched \(model\.safetensors\); config\.json describes 29 tensors \(2 layers of 2 experts\), the files hold 0 of them/,
    build(dir) {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
      const parts = ['{'];
      for (let i = 0; i < 100_000; i++) parts.push(`${i ? ',' : ''}"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
      parts.push('}');
      sparseSafetensors(path.join(dir, 'model.safetensors'), parts.join(''), 0);
    },
  },
  {
    name: 'shape-lie',
    what: 'a tensor whose shape claims 10^15 values over 8 bytes',
    code: 'offsets-out-of-range',
    message: /\[model\.norm\.weight\]: data_offsets \[0, 8\] hold 8 bytes but F32 shape \[1000000000000000\] needs 4000000000000000/,
    build(dir) {
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
      sparseSafetensors(path.join(dir, 'model.safetensors'), JSON.stringify({ 'model.norm.weight': { dtype: 'F32', shape: [1e15], data_offsets: [0, 8] } }), 8);
    },
  },
];

/** Write `c` into a new folder under `root`; returns the folder. */
export function buildHostile(root: string, c: HostileCase): string {
  const dir = path.join(root, c.name);
  mkdirSync(dir, { recursive: true });
  c.build(dir);
  return dir;
}
