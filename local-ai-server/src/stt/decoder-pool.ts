// Loaded pocketsphinx decoders waiting for a stream, one list per band (narrowband and wideband decoders
// differ in their options). Loading a model costs ~0.25 s of CPU, so a decoder whose stream ended is reset
// and kept instead of killed. Idle decoders are capped server-wide (each holds ~100 MB); a decoder that
// died or misbehaved is dropped and the band refilled to its warm spares.
import type { Logger } from '@ai-agent/common';
import { PsDecoder } from './ps-decoder.ts';

export interface DecoderPoolOptions {
  helper: string;
  args(narrowband: boolean): string[];
  /** Idle decoders kept loaded per band even before any stream asked for one. */
  warmSpares: number;
  /** Most idle decoders kept, both bands together (stt.max_streams). */
  maxIdle: number;
}

export class DecoderPool {
  private readonly idle = new Map<boolean, PsDecoder[]>([
    [true, []],
    [false, []],
  ]);
  /** Every live process, idle or serving a stream, so close() leaves none behind. */
  private readonly all = new Set<PsDecoder>();
  private closed = false;

  constructor(private readonly opts: DecoderPoolOptions, private readonly log: Logger) {}

  private idleCount(): number {
    return this.idle.get(true)!.length + this.idle.get(false)!.length;
  }

  private spawn(narrowband: boolean): PsDecoder {
    const d = new PsDecoder(this.opts.helper, this.opts.args(narrowband), this.log);
    this.all.add(d);
    return d;
  }

  private forget(d: PsDecoder, narrowband: boolean): void {
    this.all.delete(d);
    const list = this.idle.get(narrowband)!;
    const i = list.indexOf(d);
    if (i >= 0) list.splice(i, 1);
  }

  /** Tops the band up to its warm spares (within the idle cap). */
  fill(narrowband: boolean): void {
    const list = this.idle.get(narrowband)!;
    for (let i = list.length - 1; i >= 0; i--) if (!list[i].alive) this.forget(list[i], narrowband);
    while (!this.closed && list.length < this.opts.warmSpares && this.idleCount() < this.opts.maxIdle) {
      list.push(this.spawn(narrowband));
    }
  }

  /** A decoder for a new stream: a loaded one when there is one, else a fresh process. */
  take(narrowband: boolean): PsDecoder {
    const list = this.idle.get(narrowband)!;
    let pick = -1;
    for (let i = list.length - 1; i >= 0 && pick < 0; i--) if (list[i].alive && list[i].ready) pick = i;
    for (let i = 0; i < list.length && pick < 0; i++) if (list[i].alive) pick = i;
    const d = pick >= 0 ? list.splice(pick, 1)[0] : this.spawn(narrowband);
    // Refill after handing one out, so the next stream also starts warm.
    this.fill(narrowband);
    return d;
  }

  /** Takes back a decoder after its stream; `ok` says it reset cleanly (else it is killed, not reused). */
  release(d: PsDecoder, narrowband: boolean, ok: boolean): void {
    d.attach(undefined);
    if (!ok || !d.alive || this.closed || this.idleCount() >= this.opts.maxIdle) {
      if (!ok) this.log.warn({ pid: d.pid }, 'recognition decoder replaced');
      d.kill();
      this.all.delete(d);
      this.fill(narrowband);
      return;
    }
    this.idle.get(narrowband)!.push(d);
  }

  close(): void {
    this.closed = true;
    for (const d of this.all) d.kill();
    this.all.clear();
    for (const list of this.idle.values()) list.length = 0;
  }
}
