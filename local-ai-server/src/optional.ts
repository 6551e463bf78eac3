// Heavy engines (sherpa-onnx-node, node-llama-cpp) are optional: imported only when configured, and a missing
// package or model file is one clear error naming what to install or which key to fix.
import { existsSync, statSync } from 'node:fs';

export class EngineSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineSetupError';
  }
}

export async function importOptional<T>(pkg: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new EngineSetupError(`${pkg} is not installed (npm install -w local-ai-server ${pkg})`);
    }
    throw new EngineSetupError(`${pkg} failed to load: ${(err as Error).message}`);
  }
}

/** Checks that every configured model file exists; `key` is the config key, so the error says what to fix. */
export function requireFiles(files: Record<string, string | undefined>): void {
  for (const [key, path] of Object.entries(files)) {
    if (!path) throw new EngineSetupError(`${key} is not set`);
    if (!existsSync(path) || !statSync(path).isFile()) throw new EngineSetupError(`${key}: model file not found: ${path}`);
  }
}
