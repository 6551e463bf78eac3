// Masks secrets and caller numbers in any text the product writes: log lines, error messages, stack traces,
// child-process output, files. Two layers: exact values the process was given (registered at start), and
// credential shapes that may arrive from outside (headers, URLs, pasted keys).

const MASK = '[REDACTED]';
const MIN_SECRET_LENGTH = 4;
const MAX_PHONES = 10_000;

/** Credential shapes, applied in order. Each keeps a harmless prefix so a reader knows what was there. */
const SHAPES: ReadonlyArray<[RegExp, string]> = [
  // user:pass@ in any URL (ARI, database, proxy URLs)
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, `$1${MASK}@`],
  // Authorization schemes: Bearer/Basic/Token/Digest credentials
  [/\b(Bearer|Basic|Token|Digest)(\s+|%20)[A-Za-z0-9._~+/=:-]{4,}/g, `$1$2${MASK}`],
  // JSON Web Tokens (header.payload.signature)
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, MASK],
  // OpenAI-style keys (sk-…, sk-proj-…), and other prefixed keys of the same family
  [/\b(sk|rk|pk)-[A-Za-z0-9_-]{16,}/g, MASK],
  // credentials in query strings or form bodies
  [/([?&;\s"']|^)(api[_-]?key|apikey|access[_-]?token|token|password|passwd|secret|signature|sig|key)=([^&\s"'#]+)/gim,
    `$1$2=${MASK}`],
  // Deepgram keys are 40 hex characters
  [/\b[0-9a-f]{40}\b/g, MASK],
];

/** E.164 numbers with a leading plus, and digit user parts of tel:/sip: URIs. */
const PHONE_SHAPES: ReadonlyArray<RegExp> = [
  /\+\d[\d ()-]{5,18}\d/g,
  /\b((?:tel|sips?):\+?)(\d{5,15})\b/gi,
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Keeps the last four digits so an operator can still tell calls apart. */
export function maskPhoneNumber(value: string): string {
  const digits = value.replace(/\D/g, '');
  if (digits.length <= 4) return '***';
  return `***${digits.slice(-4)}`;
}

export class Scrubber {
  private readonly secrets = new Set<string>();
  private readonly phones = new Set<string>();
  private secretPattern: RegExp | null = null;
  private phonePattern: RegExp | null = null;
  showPhoneNumbers = false;

  /** Registers a value to be masked wherever it appears, whatever key it travelled under. */
  addSecret(value: string | undefined): void {
    if (!value) return;
    const trimmed = value.trim();
    if (trimmed.length < MIN_SECRET_LENGTH) return;
    const forms = [trimmed, encodeURIComponent(trimmed), Buffer.from(trimmed).toString('base64')];
    let changed = false;
    for (const form of forms) {
      if (!this.secrets.has(form)) {
        this.secrets.add(form);
        changed = true;
      }
    }
    if (changed) this.secretPattern = this.buildPattern(this.secrets);
  }

  /** Registers a caller's number (from caller id) so every later occurrence is masked. */
  addPhoneNumber(value: string | undefined): void {
    if (!value) return;
    const digits = value.replace(/\D/g, '');
    if (digits.length < 5 || this.phones.has(value)) return;
    if (this.phones.size >= MAX_PHONES) this.phones.delete(this.phones.values().next().value as string);
    this.phones.add(value);
    if (digits !== value) this.phones.add(digits);
    this.phonePattern = this.buildPattern(this.phones);
  }

  private buildPattern(values: Set<string>): RegExp {
    // Longest first, so a secret that contains another is masked whole.
    const sorted = [...values].sort((a, b) => b.length - a.length).map(escapeRegExp);
    return new RegExp(sorted.join('|'), 'g');
  }

  scrub(text: string): string {
    let out = text;
    if (this.secretPattern) out = out.replace(this.secretPattern, MASK);
    for (const [pattern, replacement] of SHAPES) out = out.replace(pattern, replacement);
    if (!this.showPhoneNumbers) {
      if (this.phonePattern) out = out.replace(this.phonePattern, (m) => maskPhoneNumber(m));
      out = out.replace(PHONE_SHAPES[0]!, (m) => maskPhoneNumber(m));
      out = out.replace(PHONE_SHAPES[1]!, (_m, scheme: string, digits: string) => scheme + maskPhoneNumber(digits));
    }
    return out;
  }
}

/** The process-wide scrubber: every logger, HTTP error path and file writer uses this one. */
export const scrubber = new Scrubber();

export function registerSecret(value: string | undefined): void {
  scrubber.addSecret(value);
}

export function registerPhoneNumber(value: string | undefined): void {
  scrubber.addPhoneNumber(value);
}

export function scrub(text: string): string {
  return scrubber.scrub(text);
}

/** Env var names whose values are secrets whatever the service does with them. */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH)/i;

/** Registers every secret-looking env value at start, so even a variable we never read cannot leak. */
export function registerEnvSecrets(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (value && SECRET_NAME.test(name) && !name.endsWith('_FILE')) scrubber.addSecret(value);
  }
}
