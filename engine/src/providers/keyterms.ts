import type { SttCapabilities, SttOpenOptions, SttProvider, SttStream } from './types.ts';

/** A context's STT with its `keyterms` added to every stream it opens (providers without keyterms ignore them). */
export class WithKeyterms implements SttProvider {
  readonly name: string;
  readonly capabilities: SttCapabilities;

  constructor(private readonly inner: SttProvider, private readonly keyterms: readonly string[]) {
    this.name = inner.name;
    this.capabilities = inner.capabilities;
  }

  open(options: SttOpenOptions): Promise<SttStream> {
    return this.inner.open({ ...options, keyterms: [...(options.keyterms ?? []), ...this.keyterms] });
  }
}
