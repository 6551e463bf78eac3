export { createLogger, installOutputScrubber, pipeScrubbed, type Logger, type LoggerOptions } from './log/logger.ts';
export {
  scrub,
  scrubber,
  Scrubber,
  registerSecret,
  registerPhoneNumber,
  registerEnvSecrets,
  maskPhoneNumber,
} from './log/scrubber.ts';
export {
  resolveBindHost,
  isLoopbackHost,
  BindPolicyError,
  LISTENER_RULES,
  DEFAULT_BIND_HOST,
  type ListenerName,
} from './net/bind-policy.ts';
export { safeEqual, bearerToken } from './auth/compare.ts';
export { isLoopbackAddress } from './auth/loopback.ts';
export {
  signRequest,
  RequestVerifier,
  SIGNATURE_HEADERS,
  type SignatureFailure,
  type SignedRequest,
  type VerifyResult,
} from './auth/signing.ts';
export { AuthFailureLimiter } from './auth/failure-limiter.ts';
export { loadAllowedCallers, serviceSecretVar } from './auth/callers.ts';
export { ConfigError } from './config/errors.ts';
export { readSecret } from './config/secrets.ts';
export { loadYamlConfig, parseYaml, validateConfig } from './config/load.ts';
export { interpolate } from './config/interpolate.ts';
export { engineConfigSchema, type EngineConfig } from './config/engine/index.ts';
export { PublicHttpError, genericErrorText } from './errors/http.ts';
