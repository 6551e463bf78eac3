export { createLogger, exitWithError, installOutputScrubber, pipeScrubbed, type Logger, type LoggerOptions } from './log/logger.ts';
export {
  scrub,
  scrubber,
  Scrubber,
  registerSecret,
  registerPhoneNumber,
  unregisterPhoneNumber,
  registerEnvSecrets,
  maskPhoneNumber,
} from './log/scrubber.ts';
export {
  resolveBindHost,
  assessBind,
  missingRecommendation,
  isLoopbackHost,
  BindPolicyError,
  LISTENER_RULES,
  DEFAULT_BIND_HOST,
  type ListenerName,
  type BindFinding,
} from './net/bind-policy.ts';
export {
  browserRefusal,
  loadBrowserPolicy,
  trustsLoopback,
  type BrowserPolicy,
  type BrowserRefusal,
  type HttpListener,
} from './net/browser-guard.ts';
export { routeUpgrades, takeUpgrade, type PendingUpgrade, type UpgradeRouter } from './net/websocket-upgrade.ts';
export { parseIp, parseCidr, formatIp, effectiveIp, specialRange, type IpAddress, type Cidr } from './net/ip-address.ts';
export { EgressAllowlist, normalizeHost, type EgressRule } from './net/egress-allowlist.ts';
export {
  parseUrlTemplate,
  expandUrlTemplate,
  ArgumentValueError,
  UrlTemplateError,
  type UrlTemplate,
} from './net/url-template.ts';
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
export { AuthFailureLimiter, failureSourceKey } from './auth/failure-limiter.ts';
export { loadAllowedCallers, serviceSecretVar } from './auth/callers.ts';
export { ConfigError } from './config/errors.ts';
export { applyEnvAliases, type EnvNotice } from './config/env-aliases.ts';
export { readSecret, secretMinLength } from './config/secrets.ts';
export { loadYamlConfig, parseYaml, validateConfig } from './config/load.ts';
export { interpolate, isSecretVariable } from './config/interpolate.ts';
export { fillSecretReferences, secretReferences } from './config/secret-refs.ts';
export { engineConfigSchema, type EngineConfig } from './config/engine/index.ts';
export { mediaConfigSchema, type MediaConfig } from './config/engine/media.ts';
export { sourceAllowlist, telephonyConfigSchema, type TelephonyConfig } from './config/engine/telephony.ts';
export { storeConfigSchema, limitsConfigSchema, type StoreConfig, type LimitsConfig } from './config/engine/operations.ts';
export {
  contextSchema,
  contextsConfigSchema,
  type ContextConfig,
  type ContextsConfig,
  type BargeInConfig,
  type TransferTargetConfig,
  type WarmTransferTargetConfig,
} from './config/engine/contexts.ts';
export { egressConfigSchema, type EgressConfig, type EgressRuleConfig } from './config/engine/egress.ts';
export {
  mcpConfigSchema,
  MCP_SERVER_ID,
  MCP_TOOL_SEPARATOR,
  type McpConfig,
  type McpServerConfig,
  type McpStdioServerConfig,
  type McpHttpServerConfig,
  type McpSandboxConfig,
  type McpDockerConfig,
} from './config/engine/mcp.ts';
export { httpToolSchema, IDEMPOTENT_METHODS, type HttpToolConfig, type HttpToolArgumentConfig } from './config/engine/http-tools.ts';
export {
  webhooksConfigSchema,
  type WebhooksConfig,
  type PreCallWebhookConfig,
  type PostCallWebhookConfig,
} from './config/engine/webhooks.ts';
export { providersConfigSchema, providerInstanceSchema, type ProvidersConfig, type ProviderInstanceConfig } from './config/engine/providers.ts';
export { PublicHttpError, genericErrorText } from './errors/http.ts';
export { startTsWorker } from './runtime/ts-worker.ts';
export { SentenceChunker, type ChunkerOptions } from './text/sentence-chunker.ts';
