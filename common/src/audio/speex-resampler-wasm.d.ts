// The package ships no type declarations; only the factory's shape is declared here.
declare module '@echogarden/speex-resampler-wasm/simd' {
  const createModule: (options?: Record<string, unknown>) => Promise<unknown>;
  export default createModule;
}
