// Build step of deploy/docker/Dockerfile (no dependencies: it runs in the build stage with Node alone).
// From an installed tree (npm ci and the builds), copies what each named service loads at run time into
// <out>/<service>/node_modules: its workspace's dependencies followed the way Node resolves them (dependencies,
// plus optional and peer dependencies that are installed; never devDependencies). The services run compiled on
// plain Node (the Dockerfile's `compiled` stage), so no TypeScript loader ships. Sibling workspaces are followed
// but not copied: their compiled modules come from that stage.
// Prebuilt binaries for other platforms and native build leftovers stay behind.
//
// Usage: node stage-runtime-deps.mjs <installed-root> <out> <workspace>...
import { cpSync, existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

const [root, out, ...workspaces] = process.argv.slice(2).map((arg, i) => (i < 2 ? realpathOrSelf(arg) : arg));
if (!root || !out || workspaces.length === 0) {
  console.error('usage: node stage-runtime-deps.mjs <installed-root> <out> <workspace>...');
  process.exit(2);
}

function realpathOrSelf(path) {
  return existsSync(path) ? realpathSync(path) : path;
}

/** Where Node finds `name` when `fromDir` imports it (`link`: the node_modules entry; `dir`: its real path). */
function resolvePackage(fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const link = join(dir, 'node_modules', name);
    if (existsSync(join(link, 'package.json'))) return { link, dir: realpathSync(link) };
    if (dirname(dir) === dir) return undefined;
  }
}

const isWorkspace = (dir) => !relative(root, dir).split(sep).includes('node_modules');

/**
 * Every package directory reachable at run time from `starts` (the service's workspace first), and the
 * node_modules links through which sibling workspaces are found.
 */
function closure(starts) {
  const seen = new Set(starts);
  const workspaceLinks = new Set();
  const queue = [...starts];
  while (queue.length > 0) {
    const dir = queue.shift();
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const required = Object.keys(pkg.dependencies ?? {});
    // A sibling workspace is used as a library: its optional engines (the local AI server's sherpa-onnx) are
    // not the service's.
    const sibling = dir !== starts[0] && isWorkspace(dir);
    const optional = [...(sibling ? [] : Object.keys(pkg.optionalDependencies ?? {})), ...Object.keys(pkg.peerDependencies ?? {})];
    for (const [names, mustExist] of [[required, true], [optional, false]]) {
      for (const name of names) {
        const found = resolvePackage(dir, name);
        if (!found) {
          if (mustExist) throw new Error(`${relative(root, dir) || '.'}: dependency ${name} is not installed`);
          continue;
        }
        if (isWorkspace(found.dir)) workspaceLinks.add(found.link);
        if (!seen.has(found.dir)) {
          seen.add(found.dir);
          queue.push(found.dir);
        }
      }
    }
  }
  return { packages: seen, workspaceLinks };
}

/** Files no service loads on this platform: other platforms' prebuilt binaries, native sources and objects. */
function unused(path) {
  const posix = path.split(sep).join('/');
  const prebuilt = /\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+)(?:\/([^/]+))?/.exec(posix);
  if (prebuilt && (prebuilt[1] !== process.platform || (prebuilt[2] !== undefined && prebuilt[2] !== process.arch))) return true;
  // A native addon needs only its compiled .node file (better-sqlite3's test extension is not one of them).
  const built = /\/build\/Release\/(.+)$/.exec(posix);
  if (built) return !/^[^/]+\.node$/.test(built[1]) || built[1] === 'test_extension.node';
  return /\/better-sqlite3\/(deps|src)(\/|$)/.test(posix);
}

for (const workspace of workspaces) {
  const start = join(root, workspace);
  if (!existsSync(join(start, 'package.json'))) throw new Error(`${workspace}: no such workspace in ${root}`);
  const { packages, workspaceLinks } = closure([realpathSync(start)]);
  let copied = 0;
  for (const dir of packages) {
    if (isWorkspace(dir)) continue;
    const target = join(out, workspace, relative(root, dir));
    // A package's own node_modules holds nested dependencies: each is in the closure itself when needed.
    cpSync(dir, target, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => relative(dir, src).split(sep)[0] !== 'node_modules' && !unused(src),
    });
    copied++;
  }
  // Sibling workspaces stay links (node_modules/@ai-agent/common -> ../../common), to the modules the image copies.
  for (const link of workspaceLinks) cpSync(link, join(out, workspace, relative(root, link)), { verbatimSymlinks: true });
  console.log(`stage-runtime-deps: ${workspace}: ${copied} packages`);
}
