// WGSL sources imported as text (`import src from '../../shaders/x.wgsl?raw'`), which Vite and
// Vitest both resolve. Declared here too because the library build does not load vite/client.
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
