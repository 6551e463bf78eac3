// Events due at positions of the audio a client has sent ("after 1500 ms of audio, say X"). Driving
// the script by audio received rather than wall time keeps tests deterministic however fast they stream.

interface Due {
  atMs: number;
  seq: number;
  tag: number;
  run: () => void;
}

export class AudioTimeline {
  #due: Due[] = [];
  #seq = 0;
  #nowMs = 0;

  get nowMs(): number {
    return this.#nowMs;
  }

  /** Runs `run` once `atMs` of audio has arrived; `tag` groups events for `cancel`. */
  at(atMs: number, tag: number, run: () => void): void {
    this.#due.push({ atMs, seq: this.#seq++, tag, run });
    this.#due.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
  }

  /** Moves the clock forward, running everything now due, in order. */
  advance(toMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, toMs);
    while (this.#due.length > 0 && this.#due[0]!.atMs <= this.#nowMs) this.#due.shift()!.run();
  }

  cancel(predicate: (tag: number, atMs: number) => boolean): void {
    this.#due = this.#due.filter((d) => !predicate(d.tag, d.atMs));
  }

  clear(): void {
    this.#due = [];
  }
}
