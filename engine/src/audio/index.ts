export { codecFor, isWireFormat, sampleRateOf, type AudioCodec, type ByteOrder, type WireFormat } from './codec.ts';
export { readSlinBE, readSlinLE, writeSlinBE, writeSlinLE } from './pcm.ts';
export { Pacer, sharedPacer, type PacedSink, type PacerOptions, type PacerStats } from './pacer.ts';
export { monotonicClock, type PacerClock } from './clock.ts';
export { Concealer } from './plc.ts';
export { SampleQueue } from './sample-queue.ts';
export { meanAbs } from './level.ts';
