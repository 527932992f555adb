// The WGSL text of every kernel, by name. The files live in shaders/ with their contracts in a
// header comment; `?raw` makes Vite (site) and Vitest (Node) inline them as strings.
import add from '../../shaders/add.wgsl?raw';
import matmul_f16 from '../../shaders/matmul_f16.wgsl?raw';
import matmul_f32 from '../../shaders/matmul_f32.wgsl?raw';
import rmsnorm from '../../shaders/rmsnorm.wgsl?raw';
import rope from '../../shaders/rope.wgsl?raw';
import silu_mul from '../../shaders/silu_mul.wgsl?raw';

export const WGSL = { add, matmul_f16, matmul_f32, rmsnorm, rope, silu_mul } as const;

export type ShaderName = keyof typeof WGSL;
