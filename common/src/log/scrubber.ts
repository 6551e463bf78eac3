// Masks secrets and caller numbers in any text the product writes: log lines, error messages, stack traces,
// child-process output, files. Two layers: exact values the process was given (secrets registered at start,
// caller numbers while their call lasts), and shapes that may arrive from outside (headers, URLs, pasted keys).

const MASK = '[REDACTED]';
const MIN_SECRET_LENGTH = 4;
const MIN_PHONE_DIGITS = 5;
/** Numbers are registered per call in progress; this only bounds a caller that never unregisters. */
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

/**
 * Digits with the separators numbers are written with between them, five characters or more: where a
 * registered number may appear.
 */
const DIGIT_RUN = /\+?\d[\d ().-]{3,}\d/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Where the `n`th digit (from 0) of `text` is. */
function indexOfDigit(text: string, n: number): number {
  let seen = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++seen === n) return i;
  }
  return -1;
}

/** Keeps the last four digits so an operator can still tell calls apart. */
export function maskPhoneNumber(value: string): string {
  const digits = value.replace(/\D/g, '');
  if (digits.length <= 4) return '***';
  return `***${digits.slice(-4)}`;
}

export class Scrubber {
  private readonly secrets = new Set<string>();
  private secretPattern: RegExp | null = null;
  /** Digits of each registered number, with how many registrations (calls in progress) hold it. */
  private readonly phones = new Map<string, number>();
  /** How many registered numbers have each digit count. */
  private readonly phoneLengths = new Map<number, number>();
  /** The digit counts present, longest first: the only substring lengths worth looking up. */
  private lengthsLongestFirst: number[] = [];
  showPhoneNumbers = false;

  /** Registers a value to be masked wherever it appears, whatever key it travelled under. */
  addSecret(value: string | undefined): void {
    if (!value) return;
    const trimmed = value.trim();
    if (trimmed.length < MIN_SECRET_LENGTH) return;
    // Log lines are JSON: a secret holding `"`, `\\` or a control character appears there escaped (twice when
    // a JSON text is logged as a string), so the escaped forms are masked too.
    const escaped = JSON.stringify(trimmed).slice(1, -1);
    const forms = [
      trimmed,
      escaped,
      JSON.stringify(escaped).slice(1, -1),
      encodeURIComponent(trimmed),
      Buffer.from(trimmed).toString('base64'),
    ];
    let changed = false;
    for (const form of forms) {
      if (!this.secrets.has(form)) {
        this.secrets.add(form);
        changed = true;
      }
    }
    if (changed) this.secretPattern = this.buildPattern(this.secrets);
  }

  /**
   * Registers a caller's number (from caller id) for as long as its call lasts: every occurrence is masked,
   * however its digits are grouped. Each registration is matched by one removePhoneNumber.
   */
  addPhoneNumber(value: string | undefined): void {
    const digits = value?.replace(/\D/g, '') ?? '';
    if (digits.length < MIN_PHONE_DIGITS) return;
    const count = this.phones.get(digits) ?? 0;
    if (count === 0) {
      if (this.phones.size >= MAX_PHONES) this.forgetPhone(this.phones.keys().next().value!);
      this.countLength(digits.length, 1);
    }
    this.phones.set(digits, count + 1);
  }

  /** The call that registered `value` has ended. */
  removePhoneNumber(value: string | undefined): void {
    const digits = value?.replace(/\D/g, '') ?? '';
    const count = this.phones.get(digits);
    if (count === undefined) return;
    if (count > 1) this.phones.set(digits, count - 1);
    else this.forgetPhone(digits);
  }

  private forgetPhone(digits: string): void {
    this.phones.delete(digits);
    this.countLength(digits.length, -1);
  }

  private countLength(length: number, delta: 1 | -1): void {
    const n = (this.phoneLengths.get(length) ?? 0) + delta;
    if (n > 0) this.phoneLengths.set(length, n);
    else this.phoneLengths.delete(length);
    const appearedOrWent = delta === 1 ? n === 1 : n === 0;
    if (appearedOrWent) this.lengthsLongestFirst = [...this.phoneLengths.keys()].sort((a, b) => b - a);
  }

  /** Masks each registered number in a run of digits and separators: at each digit, the longest that starts there. */
  private maskRegistered(run: string): string {
    const lengths = this.lengthsLongestFirst;
    const shortest = lengths.at(-1)!;
    const digits = run.length < shortest ? '' : run.replace(/\D/g, '');
    let out = '';
    let copied = 0;
    for (let d = 0; d + shortest <= digits.length; d++) {
      const length = lengths.find((n) => d + n <= digits.length && this.phones.has(digits.slice(d, d + n)));
      if (length === undefined) continue;
      // A match from the run's first digit takes its leading plus with it.
      const start = d === 0 ? 0 : indexOfDigit(run, d);
      const end = indexOfDigit(run, d + length - 1) + 1;
      out += run.slice(copied, start) + maskPhoneNumber(run.slice(start, end));
      copied = end;
      d += length - 1;
    }
    return copied === 0 ? run : out + run.slice(copied);
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
      if (this.phones.size > 0) out = out.replace(DIGIT_RUN, (run) => this.maskRegistered(run));
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

export function unregisterPhoneNumber(value: string | undefined): void {
  scrubber.removePhoneNumber(value);
}

export function scrub(text: string): string {
  return scrubber.scrub(text);
}

/** Env var names whose values are secrets whatever the service does with them. */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH)/i;

/** The product's own settings whose names look secret but hold a mode: masking "none" would blank every "none". */
const NOT_SECRET = new Set(['ADMIN_AUTH']);

/** Registers every secret-looking env value at start, so even a variable we never read cannot leak. */
export function registerEnvSecrets(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (value && SECRET_NAME.test(name) && !name.endsWith('_FILE') && !NOT_SECRET.has(name)) scrubber.addSecret(value);
  }
}
