/**
 * The ARI API description the peer serves, written after Asterisk's rest-api/api-docs/*.json
 * (Swagger 1.1: apis[].operations[] with httpMethod, nickname, responseClass, parameters[].paramType).
 * Paths, nicknames and parameter names are Asterisk's, so ari-client builds the same methods it builds
 * against a real Asterisk. Only operations the peer implements are listed; `handlers.ts` binds each one.
 */
export interface ParamSpec {
  name: string;
  paramType: 'path' | 'query' | 'body';
  required: boolean;
  allowMultiple: boolean;
  dataType: string;
  defaultValue?: unknown;
  allowableValues?: { valueType: 'LIST'; values: string[] };
  description: string;
}

export interface OperationSpec {
  httpMethod: 'GET' | 'POST' | 'PUT' | 'DELETE';
  nickname: string;
  summary: string;
  responseClass: string;
  parameters: ParamSpec[];
  errorResponses: Array<{ code: number; reason: string }>;
  upgrade?: 'websocket';
  websocketProtocol?: string;
}

export interface ApiSpec {
  path: string;
  description: string;
  operations: OperationSpec[];
}

export interface ResourceSpec {
  name: string;
  description: string;
  apis: ApiSpec[];
  models: Record<string, ModelSpec>;
}

export interface ModelSpec {
  id: string;
  description: string;
  properties: Record<string, { type: string; required: boolean; description: string }>;
  extends?: string;
  subTypes?: string[];
  discriminator?: string;
}

type ParamOpts = { required?: boolean; multiple?: boolean; default?: unknown; values?: string[]; description?: string };

const pathParam = (name: string, description = `${name}`): ParamSpec => ({
  name, paramType: 'path', required: true, allowMultiple: false, dataType: 'string', description,
});
const query = (name: string, dataType = 'string', o: ParamOpts = {}): ParamSpec => ({
  name,
  paramType: 'query',
  required: o.required ?? false,
  allowMultiple: o.multiple ?? false,
  dataType,
  description: o.description ?? name,
  ...(o.default !== undefined ? { defaultValue: o.default } : {}),
  ...(o.values ? { allowableValues: { valueType: 'LIST' as const, values: o.values } } : {}),
});
const body = (name: string): ParamSpec => ({
  name, paramType: 'body', required: false, allowMultiple: false, dataType: 'containers',
  description: `The "${name}" key in the body object holds variable key/value pairs to set on the channel on creation.`,
});

function op(
  httpMethod: OperationSpec['httpMethod'], nickname: string, responseClass: string, parameters: ParamSpec[],
  errors: Array<[number, string]> = [], summary = nickname,
): OperationSpec {
  return { httpMethod, nickname, summary, responseClass, parameters, errorResponses: errors.map(([code, reason]) => ({ code, reason })) };
}

const CHANNEL_ERRORS: Array<[number, string]> = [[404, 'Channel not found'], [409, 'Channel not in a Stasis application']];
const channelId = pathParam('channelId', "Channel's id");
const bridgeId = pathParam('bridgeId', "Bridge's id");
const playbackId = pathParam('playbackId', "Playback's id");
const moduleName = pathParam('moduleName', "Module's name");
const playParams = [
  query('media', 'string', { required: true, multiple: true, description: 'Media URIs to play.' }),
  query('lang', 'string'),
  query('offsetms', 'int', { default: 0 }),
  query('skipms', 'int', { default: 3000 }),
];
const originateParams = (withIdInPath: boolean): ParamSpec[] => [
  ...(withIdInPath ? [pathParam('channelId', 'The unique id to assign the channel on creation.')] : []),
  query('endpoint', 'string', { required: true }),
  query('extension'), query('context'), query('priority', 'long'), query('label'),
  query('app'), query('appArgs'), query('callerId'), query('timeout', 'int', { default: 30 }),
  body('variables'),
  ...(withIdInPath ? [] : [query('channelId')]),
  query('otherChannelId'), query('originator'), query('formats'),
];

function model(id: string, props: Record<string, string>, description = id): ModelSpec {
  const properties: ModelSpec['properties'] = {};
  for (const [name, type] of Object.entries(props)) {
    const optional = type.endsWith('?');
    properties[name] = { type: optional ? type.slice(0, -1) : type, required: !optional, description: name };
  }
  return { id, description, properties };
}

const EVENT_BASE = { type: 'string', application: 'string', timestamp: 'Date', asterisk_id: 'string?' };
function event(id: string, props: Record<string, string>): ModelSpec {
  return { ...model(id, props, `Event ${id}`), extends: 'Event' };
}

const EVENTS: ModelSpec[] = [
  event('StasisStart', { args: 'List[string]', channel: 'Channel', replace_channel: 'Channel?' }),
  event('StasisEnd', { channel: 'Channel' }),
  event('ChannelStateChange', { channel: 'Channel' }),
  event('ChannelVarset', { variable: 'string', value: 'string', channel: 'Channel?' }),
  event('ChannelDtmfReceived', { digit: 'string', duration_ms: 'int', channel: 'Channel' }),
  event('ChannelHangupRequest', { cause: 'int?', soft: 'boolean?', channel: 'Channel' }),
  event('ChannelDestroyed', { cause: 'int', cause_txt: 'string', channel: 'Channel' }),
  event('ChannelEnteredBridge', { bridge: 'Bridge', channel: 'Channel?' }),
  event('ChannelLeftBridge', { bridge: 'Bridge', channel: 'Channel' }),
  event('BridgeCreated', { bridge: 'Bridge' }),
  event('BridgeDestroyed', { bridge: 'Bridge' }),
  event('PlaybackStarted', { playback: 'Playback' }),
  event('PlaybackContinuing', { playback: 'Playback' }),
  event('PlaybackFinished', { playback: 'Playback' }),
  event('Dial', { caller: 'Channel?', peer: 'Channel', forward: 'string?', forwarded: 'Channel?', dialstring: 'string?', dialstatus: 'string' }),
  event('ApplicationReplaced', {}),
  event('ApplicationMoveFailed', { channel: 'Channel', destination: 'string', args: 'List[string]' }),
];

const CHANNEL_MODELS: Record<string, ModelSpec> = {
  Channel: model('Channel', {
    id: 'string', name: 'string', state: 'string', protocol_id: 'string', caller: 'CallerID', connected: 'CallerID',
    accountcode: 'string', dialplan: 'DialplanCEP', creationtime: 'Date', language: 'string', channelvars: 'object?',
  }),
  CallerID: model('CallerID', { name: 'string', number: 'string' }),
  DialplanCEP: model('DialplanCEP', { context: 'string', exten: 'string', priority: 'long', app_name: 'string', app_data: 'string' }),
  Variable: model('Variable', { value: 'string' }),
};
const BRIDGE_MODELS: Record<string, ModelSpec> = {
  Bridge: model('Bridge', {
    id: 'string', technology: 'string', bridge_type: 'string', bridge_class: 'string', creator: 'string', name: 'string',
    channels: 'List[string]', creationtime: 'Date', video_mode: 'string?',
  }),
};
const PLAYBACK_MODELS: Record<string, ModelSpec> = {
  Playback: model('Playback', {
    id: 'string', media_uri: 'string', next_media_uri: 'string?', target_uri: 'string', language: 'string?', state: 'string',
  }),
};

export const RESOURCES: ResourceSpec[] = [
  {
    name: 'asterisk',
    description: 'Asterisk resources',
    apis: [
      { path: '/asterisk/info', description: 'Asterisk system information', operations: [
        op('GET', 'getInfo', 'AsteriskInfo', [query('only', 'string', { multiple: true, values: ['build', 'system', 'config', 'status'] })]),
      ] },
      { path: '/asterisk/modules', description: 'Asterisk modules', operations: [op('GET', 'listModules', 'List[Module]', [])] },
      { path: '/asterisk/modules/{moduleName}', description: 'Asterisk module', operations: [
        op('GET', 'getModule', 'Module', [moduleName], [[404, 'Module could not be found in running modules.'], [409, 'Module information could not be retrieved.']]),
        op('POST', 'loadModule', 'void', [moduleName], [[409, 'Module could not be loaded.']]),
        op('DELETE', 'unloadModule', 'void', [moduleName], [[404, 'Module not found in running modules.'], [409, 'Module could not be unloaded.']]),
      ] },
      { path: '/asterisk/ping', description: 'Asterisk ping', operations: [op('GET', 'ping', 'AsteriskPing', [])] },
    ],
    models: {
      AsteriskInfo: model('AsteriskInfo', { build: 'BuildInfo?', system: 'SystemInfo?', config: 'ConfigInfo?', status: 'StatusInfo?' }),
      AsteriskPing: model('AsteriskPing', { asterisk_id: 'string', ping: 'string', timestamp: 'string' }),
      BuildInfo: model('BuildInfo', { os: 'string', kernel: 'string', options: 'string', machine: 'string', date: 'string', user: 'string' }),
      SystemInfo: model('SystemInfo', { version: 'string', entity_id: 'string' }),
      ConfigInfo: model('ConfigInfo', { name: 'string', default_language: 'string' }),
      StatusInfo: model('StatusInfo', { startup_time: 'Date', last_reload_time: 'Date' }),
      Module: model('Module', { name: 'string', description: 'string', use_count: 'int', status: 'string', support_level: 'string' }),
    },
  },
  {
    name: 'applications',
    description: 'Stasis application resources',
    apis: [
      { path: '/applications', description: 'Stasis applications', operations: [op('GET', 'list', 'List[Application]', [])] },
      { path: '/applications/{applicationName}', description: 'Stasis application', operations: [
        op('GET', 'get', 'Application', [pathParam('applicationName', "Application's name")], [[404, 'Application does not exist.']]),
      ] },
    ],
    models: {
      Application: model('Application', {
        name: 'string', channel_ids: 'List[string]', bridge_ids: 'List[string]', endpoint_ids: 'List[string]',
        device_names: 'List[string]', events_allowed: 'List[object]', events_disallowed: 'List[object]',
      }),
    },
  },
  {
    name: 'channels',
    description: 'Channel resources',
    apis: [
      { path: '/channels', description: 'Active channels', operations: [
        op('GET', 'list', 'List[Channel]', []),
        op('POST', 'originate', 'Channel', originateParams(false), [[400, 'Invalid parameters for originating a channel.'], [409, 'Channel with given unique ID already exists.']]),
      ] },
      { path: '/channels/externalMedia', description: 'Create a channel to an External Media source/sink.', operations: [
        op('POST', 'externalMedia', 'Channel', [
          query('channelId'), query('app', 'string', { required: true }), body('variables'),
          query('external_host'), query('encapsulation', 'string', { default: 'rtp', values: ['rtp', 'audiosocket', 'none'] }),
          query('transport', 'string', { default: 'udp', values: ['udp', 'tcp', 'websocket'] }),
          query('connection_type', 'string', { default: 'client', values: ['client', 'server'] }),
          query('format', 'string', { required: true }),
          query('direction', 'string', { default: 'both', values: ['both'] }),
          query('data'), query('transport_data'),
        ], [[400, 'Invalid parameters'], [409, 'Channel is not in a Stasis application; Channel is already bridged'], [501, 'The encapsulation and/or transport is not supported']]),
      ] },
      { path: '/channels/{channelId}', description: 'Active channel', operations: [
        op('GET', 'get', 'Channel', [channelId], [[404, 'Channel not found']]),
        op('POST', 'originateWithId', 'Channel', originateParams(true), [[400, 'Invalid parameters for originating a channel.'], [409, 'Channel with given unique ID already exists.']]),
        op('DELETE', 'hangup', 'void', [
          channelId, query('reason_code'),
          query('reason', 'string', { values: ['normal', 'busy', 'congestion', 'no_answer', 'timeout', 'rejected', 'unallocated', 'normal_unspecified', 'number_incomplete', 'codec_mismatch', 'interworking', 'failure', 'answered_elsewhere'] }),
        ], [[400, 'Invalid reason for hangup provided'], [404, 'Channel not found']]),
      ] },
      { path: '/channels/{channelId}/continue', description: 'Exit application; continue execution in the dialplan', operations: [
        op('POST', 'continueInDialplan', 'void', [channelId, query('context'), query('extension'), query('priority', 'int'), query('label')], CHANNEL_ERRORS),
      ] },
      { path: '/channels/{channelId}/move', description: 'Move the channel from one Stasis application to another.', operations: [
        op('POST', 'move', 'void', [
          channelId, query('app', 'string', { required: true, description: 'The channel will be passed to this Stasis application.' }),
          query('appArgs', 'string', { description: "The application arguments to pass to the Stasis application provided by 'app'." }),
        ], CHANNEL_ERRORS),
      ] },
      { path: '/channels/{channelId}/redirect', description: 'Inform the channel that it should redirect itself to a different location.', operations: [
        op('POST', 'redirect', 'void', [channelId, query('endpoint', 'string', { required: true })], [
          [400, 'Endpoint parameter not provided'], [404, 'Channel or endpoint not found'], [409, 'Channel not in a Stasis application'],
          [422, 'Endpoint is not the same type as the channel'],
        ]),
      ] },
      { path: '/channels/{channelId}/answer', description: 'Answer a channel', operations: [op('POST', 'answer', 'void', [channelId], CHANNEL_ERRORS)] },
      { path: '/channels/{channelId}/ring', description: 'Send a ringing indication to a channel', operations: [
        op('POST', 'ring', 'void', [channelId], CHANNEL_ERRORS),
        op('DELETE', 'ringStop', 'void', [channelId], CHANNEL_ERRORS),
      ] },
      { path: '/channels/{channelId}/moh', description: 'Play music on hold to a channel', operations: [
        op('POST', 'startMoh', 'void', [channelId, query('mohClass')], CHANNEL_ERRORS),
        op('DELETE', 'stopMoh', 'void', [channelId], CHANNEL_ERRORS),
      ] },
      { path: '/channels/{channelId}/dtmf', description: 'Send DTMF to a channel', operations: [
        op('POST', 'sendDTMF', 'void', [
          channelId, query('dtmf'), query('before', 'int', { default: 0 }), query('between', 'int', { default: 100 }),
          query('duration', 'int', { default: 100 }), query('after', 'int', { default: 0 }),
        ], [[400, 'DTMF is required'], ...CHANNEL_ERRORS]),
      ] },
      { path: '/channels/{channelId}/play', description: 'Play media to a channel', operations: [
        op('POST', 'play', 'Playback', [channelId, ...playParams, query('playbackId')], CHANNEL_ERRORS),
      ] },
      { path: '/channels/{channelId}/play/{playbackId}', description: 'Play media to a channel', operations: [
        op('POST', 'playWithId', 'Playback', [channelId, pathParam('playbackId', 'Playback ID.'), ...playParams], CHANNEL_ERRORS),
      ] },
      { path: '/channels/{channelId}/variable', description: 'Variables on a channel', operations: [
        op('GET', 'getChannelVar', 'Variable', [channelId, query('variable', 'string', { required: true })], [[400, 'Missing variable parameter.'], [404, 'Channel or variable not found'], [409, 'Channel not in a Stasis application']]),
        op('POST', 'setChannelVar', 'void', [channelId, query('variable', 'string', { required: true }), query('value')], [[400, 'Missing variable parameter.'], ...CHANNEL_ERRORS]),
      ] },
    ],
    models: CHANNEL_MODELS,
  },
  {
    name: 'bridges',
    description: 'Bridge resources',
    apis: [
      { path: '/bridges', description: 'Active bridges', operations: [
        op('GET', 'list', 'List[Bridge]', []),
        op('POST', 'create', 'Bridge', [query('type'), query('bridgeId'), query('name')], [[409, 'Bridge with the same bridgeId already exists']]),
      ] },
      { path: '/bridges/{bridgeId}', description: 'Individual bridge', operations: [
        op('POST', 'createWithId', 'Bridge', [query('type'), bridgeId, query('name')], [[409, 'Bridge with the same bridgeId already exists']]),
        op('GET', 'get', 'Bridge', [bridgeId], [[404, 'Bridge not found']]),
        op('DELETE', 'destroy', 'void', [bridgeId], [[404, 'Bridge not found']]),
      ] },
      { path: '/bridges/{bridgeId}/addChannel', description: 'Add a channel to a bridge', operations: [
        op('POST', 'addChannel', 'void', [
          bridgeId, query('channel', 'string', { required: true, multiple: true }), query('role'),
          query('absorbDTMF', 'boolean', { default: false }), query('mute', 'boolean', { default: false }),
          query('inhibitConnectedLineUpdates', 'boolean', { default: false }),
        ], [[400, 'Channel not found'], [404, 'Bridge not found'], [409, 'Bridge not in Stasis application; Channel currently recording'], [422, 'Channel not in Stasis application']]),
      ] },
      { path: '/bridges/{bridgeId}/removeChannel', description: 'Remove a channel from a bridge', operations: [
        op('POST', 'removeChannel', 'void', [bridgeId, query('channel', 'string', { required: true, multiple: true })], [
          [400, 'Channel not found'], [404, 'Bridge not found'], [409, 'Bridge not in Stasis application'], [422, 'Channel not in this bridge'],
        ]),
      ] },
      { path: '/bridges/{bridgeId}/play', description: 'Play media to the participants of a bridge', operations: [
        op('POST', 'play', 'Playback', [bridgeId, ...playParams, query('playbackId')], [[404, 'Bridge not found'], [409, 'Bridge not in a Stasis application']]),
      ] },
      { path: '/bridges/{bridgeId}/play/{playbackId}', description: 'Play media to a bridge', operations: [
        op('POST', 'playWithId', 'Playback', [bridgeId, pathParam('playbackId', 'Playback ID.'), ...playParams], [[404, 'Bridge not found'], [409, 'Bridge not in a Stasis application']]),
      ] },
    ],
    models: BRIDGE_MODELS,
  },
  {
    name: 'playbacks',
    description: 'Playback control resources',
    apis: [
      { path: '/playbacks/{playbackId}', description: 'Control object for a playback operation.', operations: [
        op('GET', 'get', 'Playback', [playbackId], [[404, 'The playback cannot be found']]),
        op('DELETE', 'stop', 'void', [playbackId], [[404, 'The playback cannot be found']]),
      ] },
    ],
    models: PLAYBACK_MODELS,
  },
  {
    name: 'events',
    description: 'WebSocket resource',
    apis: [
      { path: '/events', description: 'Events from Asterisk to applications', operations: [{
        ...op('GET', 'eventWebsocket', 'Message', [
          query('app', 'string', { required: true, multiple: true }), query('subscribeAll', 'boolean'),
        ]),
        upgrade: 'websocket',
        websocketProtocol: 'ari',
      }] },
    ],
    models: {
      Message: { ...model('Message', { type: 'string', asterisk_id: 'string?' }), subTypes: ['Event'], discriminator: 'type' },
      Event: { ...model('Event', { application: 'string', timestamp: 'Date' }), extends: 'Message', subTypes: EVENTS.map((e) => e.id) },
      ...Object.fromEntries(EVENTS.map((e) => [e.id, { ...e, properties: { ...Object.fromEntries(Object.entries(EVENT_BASE).map(([k, t]) => [k, { type: t.replace('?', ''), required: !t.endsWith('?'), description: k }])), ...e.properties } }])),
      ...CHANNEL_MODELS, ...BRIDGE_MODELS, ...PLAYBACK_MODELS,
    },
  },
];

const API_VERSION = '9.0.0';

export function resourceListing(basePath: string): Record<string, unknown> {
  return {
    _copyright: 'Served by the ai-agent Asterisk test peer',
    apiVersion: API_VERSION,
    swaggerVersion: '1.1',
    basePath,
    apis: RESOURCES.map((r) => ({ path: `/api-docs/${r.name}.{format}`, description: r.description })),
  };
}

export function resourceDeclaration(name: string, basePath: string): Record<string, unknown> | null {
  const r = RESOURCES.find((x) => x.name === name);
  if (!r) return null;
  return {
    apiVersion: API_VERSION,
    swaggerVersion: '1.1',
    basePath,
    resourcePath: `/api-docs/${r.name}.{format}`,
    apis: r.apis,
    models: r.models,
  };
}
