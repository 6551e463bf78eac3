// A throwaway self-signed certificate for 127.0.0.1, for clients that insist on https/wss (the openai
// SDK's Realtime helper always dials wss://). Made with the openssl CLI: Node cannot mint certificates.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface LoopbackCertificate {
  key: string;
  /** PEM; also the CA a client must trust (`ca` option of ws / https). */
  cert: string;
}

/**
 * `dnsNames`: the names the certificate is for instead of 127.0.0.1 (a test DNS server points them at it), so a
 * client that checks the address rather than the name fails.
 */
export async function createLoopbackCertificate(dnsNames: readonly string[] = []): Promise<LoopbackCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-tls-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', `subjectAltName=${dnsNames.length ? dnsNames.map((n) => `DNS:${n}`).join(',') : 'IP:127.0.0.1'}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
