import type { AudioSocketStream } from '../transport/audiosocket/audiosocket-stream.ts';
import { ChannelLessSession, type ChannelLessDeps } from './channel-less-session.ts';

export interface DialplanAudioSocketDeps extends ChannelLessDeps {
  context: string;
}

/**
 * A call the dialplan sent straight to our listener with `AudioSocket(uuid,host:port)`, without ARI. Hanging up
 * sends the 0x00 frame, after which Asterisk continues the dialplan; transfer and DTMF out need ARI, so the
 * model is not offered them.
 */
export class DialplanAudioSocketSession extends ChannelLessSession {
  protected readonly media: AudioSocketStream;

  constructor(stream: AudioSocketStream, deps: DialplanAudioSocketDeps) {
    super(
      { context: deps.context, transport: 'audiosocket', codec: stream.wireFormat },
      { audiosocket: stream.id },
      deps,
      'it needs ARI; this call came from the dialplan AudioSocket() application',
    );
    this.media = stream;
  }

  protected started(): void {
    this.log.info('dialplan AudioSocket call started');
  }

  protected closeMedia(_outcome: unknown, cause: string): void {
    this.media.close(cause === 'remote hangup' || cause === 'connection closed' ? cause : 'hangup');
  }
}
