// The softphone's microphone tap (an AudioWorklet, so capture never waits on the page's main thread): the
// context runs at 16 kHz, and every 320 samples (20 ms) become one PCM16 frame posted to the page, which sends
// it to the engine as is.
const FRAME = 320;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.frame[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.filled === FRAME) {
        // Transferred, not copied: a fresh frame is filled next.
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(FRAME);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('capture', CaptureProcessor);

// The softphone's output meter: the level of what actually plays, per render quantum (8 ms at 16 kHz), stamped
// with the audio clock in the rendering thread, so the page can tell exactly when the agent's audio stopped
// however late its own timers run. Posted in batches of [time, rms, time, rms, ...].
const QUANTA_PER_BATCH = 8;

class MeterProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.batch = [];
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    let sum = 0;
    const n = channel ? channel.length : 0;
    for (let i = 0; i < n; i++) sum += channel[i] * channel[i];
    this.batch.push(currentTime, n ? Math.sqrt(sum / n) : 0);
    if (this.batch.length >= 2 * QUANTA_PER_BATCH) {
      this.port.postMessage(this.batch);
      this.batch = [];
    }
    return true;
  }
}

registerProcessor('meter', MeterProcessor);
