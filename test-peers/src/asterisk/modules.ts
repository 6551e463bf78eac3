import { AriError } from './errors.ts';

/** An entry of Asterisk's module list as ARI shows it (rest-api/api-docs/asterisk.json, model Module). */
export interface ModuleInfo {
  /** The loaded file's name, `.so` included (loader.c stores the resource as loaded: `res_ari.so`). */
  name: string;
  description: string;
  use_count: number;
  status: 'Running' | 'Not Running';
  support_level: 'core' | 'extended' | 'deprecated' | 'unknown';
}

/**
 * The modules a stock Asterisk (22.6+, modules.conf autoload) has loaded that this peer stands in for: ARI and
 * Stasis (and its dialplan app), the HTTP WebSocket server, and the three ExternalMedia/dialplan media drivers. Descriptions and
 * support levels are those of each module's AST_MODULE_INFO; res_ari_* are generated as "RESTful API module -
 * <resource description>".
 */
const STOCK: ReadonlyArray<Omit<ModuleInfo, 'use_count' | 'status'>> = [
  { name: 'app_audiosocket.so', description: 'AudioSocket Application', support_level: 'extended' },
  { name: 'app_stasis.so', description: 'Stasis dialplan application', support_level: 'core' },
  { name: 'chan_audiosocket.so', description: 'AudioSocket Channel', support_level: 'extended' },
  { name: 'chan_rtp.so', description: 'RTP Media Channel', support_level: 'core' },
  { name: 'chan_websocket.so', description: 'Websocket Media Channel', support_level: 'core' },
  { name: 'res_ari.so', description: 'Asterisk RESTful Interface', support_level: 'core' },
  { name: 'res_ari_applications.so', description: 'RESTful API module - Stasis application resources', support_level: 'core' },
  { name: 'res_ari_asterisk.so', description: 'RESTful API module - Asterisk resources', support_level: 'core' },
  { name: 'res_ari_bridges.so', description: 'RESTful API module - Bridge resources', support_level: 'core' },
  { name: 'res_ari_channels.so', description: 'RESTful API module - Channel resources', support_level: 'core' },
  { name: 'res_ari_events.so', description: 'RESTful API module - WebSocket resource', support_level: 'core' },
  { name: 'res_ari_playbacks.so', description: 'RESTful API module - Playback control resources', support_level: 'core' },
  { name: 'res_audiosocket.so', description: 'AudioSocket support', support_level: 'extended' },
  { name: 'res_http_websocket.so', description: 'HTTP WebSocket Support', support_level: 'core' },
  { name: 'res_stasis.so', description: 'Stasis application support', support_level: 'core' },
  { name: 'res_websocket_client.so', description: 'WebSocket Client Support', support_level: 'core' },
];

/** Module names compare like main/loader.c's resource_name_match: case-insensitive, `.so` optional. */
function baseName(name: string): string {
  return name.toLowerCase().replace(/\.so$/, '');
}

/**
 * Asterisk's loaded-module list (main/loader.c) with the answers of res/ari/resource_asterisk.c. Unloading
 * only changes what the module endpoints report: calls through the peer's own drivers keep working, so a test
 * that unloads chan_rtp checks the operator's diagnosis, not a failing call.
 */
export class ModuleRegistry {
  private readonly loaded = new Map<string, ModuleInfo>();

  constructor() {
    for (const m of STOCK) this.loaded.set(baseName(m.name), { ...m, use_count: 0, status: 'Running' });
  }

  /** In loader.c's order (alpha_module_list_create: strcasecmp of the names, so "res_ari.so" < "res_ari_…"). */
  list(): ModuleInfo[] {
    const key = (m: ModuleInfo): string => m.name.toLowerCase();
    return [...this.loaded.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).map((m) => ({ ...m }));
  }

  /**
   * GET /asterisk/modules/{name}: 404 when no loaded module matches (ast_module_check), and 409 when one matches
   * only loosely — identify_module compares the exact resource name, so `res_ari` finds res_ari.so but cannot
   * report it ("Module information could not be retrieved"). Ask with the `.so`.
   */
  get(name: string): ModuleInfo {
    const found = this.loaded.get(baseName(name));
    if (!found) throw new AriError(404, 'Module could not be found in running modules');
    if (found.name !== name) throw new AriError(409, 'Module information could not be retrieved');
    return { ...found };
  }

  /** DELETE /asterisk/modules/{name} (and the tests' way to take a module away). */
  unload(name: string): void {
    if (!this.loaded.delete(baseName(name))) throw new AriError(404, 'Module not found in running modules');
  }

  /** POST /asterisk/modules/{name}: only the stock set exists on disk here; another name is declined (409). */
  load(name: string): void {
    if (this.loaded.has(baseName(name))) throw new AriError(409, 'Module is already loaded');
    const stock = STOCK.find((m) => baseName(m.name) === baseName(name));
    if (!stock) throw new AriError(409, 'Module load declined');
    this.loaded.set(baseName(name), { ...stock, use_count: 0, status: 'Running' });
  }
}
