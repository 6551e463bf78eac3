import { FRAME_SAMPLES } from '../audio/formats.ts';

export type PlaybackState = 'queued' | 'playing' | 'continuing' | 'done' | 'failed' | 'paused';

/**
 * A playback of one or more media URIs to a channel or bridge (res/res_stasis_playback.c,
 * rest-api/api-docs/playbacks.json;
 * POST …/play returns 201 with the Playback in state "queued"; PlaybackStarted then PlaybackFinished).
 * `tone:` playbacks repeat until stopped, as Asterisk's tone playback does.
 */
export class Playback {
  state: PlaybackState = 'queued';
  samples: Int16Array | null = null;
  pos = 0;
  loop = false;
  private readonly frame = new Int16Array(FRAME_SAMPLES);

  constructor(readonly id: string, readonly mediaUris: string[], readonly targetUri: string, readonly language: string) {}

  /** Next 20 ms; null when finished. */
  nextFrame(): Int16Array | null {
    const s = this.samples;
    if (!s || s.length === 0) return null;
    if (this.pos >= s.length) {
      if (!this.loop) return null;
      this.pos = 0;
    }
    const n = Math.min(FRAME_SAMPLES, s.length - this.pos);
    this.frame.set(s.subarray(this.pos, this.pos + n));
    if (n < FRAME_SAMPLES) this.frame.fill(0, n);
    this.pos += n;
    return this.frame;
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      id: this.id,
      media_uri: this.mediaUris[0],
      target_uri: this.targetUri,
      language: this.language,
      state: this.state,
    };
    if (this.mediaUris.length > 1) json.media_uris = this.mediaUris;
    return json;
  }
}
