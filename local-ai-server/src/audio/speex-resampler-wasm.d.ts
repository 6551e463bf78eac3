// The package ships no type declarations; resampler.ts describes the module's shape itself.
declare module '@echogarden/speex-resampler-wasm' {
  const createModule: () => Promise<unknown>;
  export default createModule;
}
