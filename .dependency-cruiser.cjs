// The dependency table of ARCHITECTURE.md ("Dependencies point down"), checked by `npm run lint:deps` and as the
// first step of `npm test`. Each rule below is one row of this table; a layer may import its own folder, the
// layers its row names, @ai-agent/common, Node built-ins and npm packages. Rows read downwards:
//
//   engine/src/   may import
//   main.ts       everything: the composition root wires control, telephony and pipeline (nothing imports it)
//   control/      telephony, store, transport, call   (health API over the live calls, store and media counters)
//   doctor/       config, providers                   (checks the engine's config against the world; key names only)
//   telephony/    transport, store, audio, call
//   pipeline/     tools, providers, audio, call       (the MediaStream contract is in call/, not transport/)
//   tools/        providers, egress, call            (HTTP tools make their requests through the egress guard)
//   webhooks/     egress, store, call                 (signed pre-/post-call requests, the post-call outbox)
//   egress/       -                                   (outbound HTTP under the allowlist; common/ holds the rules)
//   providers/    audio, call                         (and the local AI server's client, see workspaces below)
//   store/        call
//   transport/    audio, call
//   config/       -
//   audio/        -
//   call/         audio (type-only: the codec names)  (contracts only: types and the pipeline's audio format)
//
// Telephony and pipeline meet only through call/; main.ts connects them.
// Workspaces: a package imports another only by its name and declared "exports" (no `../../engine/src/…`, no
// `@ai-agent/x/src/…`), and declares it in its package.json. bench/ measures the engine white-box, like the
// engine's own tests, so it alone may reach into engine/src and engine/test.
const SRC = '^engine/src/';

/** One row of the table: `layer` may import only itself and `allowed` inside engine/src. */
function row(name, layer, allowed, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: `${SRC}${layer}/` },
    to: { path: SRC, pathNot: `${SRC}(${[layer, ...allowed].join('|')})/` },
  };
}

const WORKSPACES = '(common|engine|local-ai-server|admin-ui|test-peers|bench)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No cycles in product code: every row of the table points one way, and so must each file in a layer.',
      severity: 'error',
      from: { path: '^(common|engine|local-ai-server|admin-ui)/src/' },
      to: { circular: true },
    },
    {
      name: 'main-is-the-top',
      comment: 'Row "main.ts": the composition root imports everything and nothing imports it.',
      severity: 'error',
      from: {},
      to: { path: `${SRC}main\\.ts$` },
    },
    row('control-row', 'control', ['telephony', 'store', 'transport', 'call'], 'Row "control/": telephony, store, transport, call.'),
    row('doctor-row', 'doctor', ['config', 'providers'], 'Row "doctor/": config (what the engine reads) and providers (the key each vendor needs); never calls, media or telephony.'),
    row('telephony-row', 'telephony', ['transport', 'store', 'audio', 'call'], 'Row "telephony/": transport, store, audio, call; never pipeline (they meet in call/).'),
    row('pipeline-row', 'pipeline', ['tools', 'providers', 'audio', 'call'], 'Row "pipeline/": tools, providers, audio, call; never telephony (they meet in call/) nor transport.'),
    row('tools-row', 'tools', ['providers', 'egress', 'call'], 'Row "tools/": providers (tool schemas and calls), egress (HTTP tools), call.'),
    row('webhooks-row', 'webhooks', ['egress', 'store', 'call'], 'Row "webhooks/": egress, store (the record a post-call event carries), call.'),
    row('egress-row', 'egress', [], 'Row "egress/": nothing else in the engine (the allowlist rules are in common).'),
    row('providers-row', 'providers', ['audio', 'call'], 'Row "providers/": audio, call; neither pipeline nor transport.'),
    row('store-row', 'store', ['call'], 'Row "store/": call (the call record types).'),
    row('transport-row', 'transport', ['audio', 'call'], 'Row "transport/": audio, call (it implements the MediaStream contract).'),
    row('config-row', 'config', [], 'Row "config/": nothing else in the engine.'),
    row('audio-row', 'audio', [], 'Row "audio/": nothing else in the engine.'),
    row('call-row', 'call', ['audio'], 'Row "call/": audio (the codec names) only.'),
    {
      name: 'call-row-types-only',
      comment: 'Row "call/": what it takes from audio/ is types only; call/ holds contracts, not machinery.',
      severity: 'error',
      from: { path: `${SRC}call/` },
      to: { path: `${SRC}audio/`, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-sibling-internals',
      comment: 'Workspaces: another package only by its name and "exports", never by a relative path into it.',
      severity: 'error',
      from: { path: `^${WORKSPACES}/`, pathNot: '^bench/' },
      to: { path: `^${WORKSPACES}/`, pathNot: '^$1/', dependencyTypes: ['local'] },
    },
    {
      name: 'bench-reaches-only-engine',
      comment: 'Workspaces: bench measures the engine white-box (engine/src, engine/test); other packages by name.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: `^${WORKSPACES}/`, pathNot: '^(bench|engine)/', dependencyTypes: ['local'] },
    },
    {
      name: 'declared-dependencies',
      comment: 'Workspaces: a package imported by name is declared in the importer\'s package.json.',
      severity: 'error',
      from: { path: `^${WORKSPACES}/` },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'resolvable',
      comment: 'Workspaces: every import resolves (a deep `@ai-agent/x/src/…` path is outside the "exports" and does not).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // A workspace package stays `node_modules/@ai-agent/x/…` (not followed into its folder), so an import by name
    // is checked against the importer's package.json and only a relative path into a sibling counts as 'local'.
    preserveSymlinks: true,
    // dist/: the compiled twins of src/ (scripts/build-services.mjs) and the admin web app's build.
    exclude: { path: ['/fixtures/', '^[^/]+/dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
