// HEALTHCHECK of the service images (no curl in them): asks the service's public health route on the address
// and port it listens on, read from the same variables the service reads, and exits 0 on a 2xx answer.
// Usage: node deploy/docker/healthcheck.mjs engine|local-ai-server|admin-ui
import { request } from 'node:http';

const SERVICES = {
  engine: { hostVar: 'HEALTH_BIND_HOST', portVar: 'HEALTH_PORT', port: 15000, path: '/health' },
  'local-ai-server': { hostVar: 'LOCAL_WS_HOST', portVar: 'LOCAL_WS_PORT', port: 8765, path: '/health' },
  // The admin UI has no health route of its own: its web app's page is public and says the server answers.
  'admin-ui': { hostVar: 'ADMIN_BIND_HOST', portVar: 'ADMIN_PORT', port: 3003, path: '/', hostsVar: 'ADMIN_ALLOWED_HOSTS' },
};

const service = SERVICES[process.argv[2]];
if (!service) {
  console.error(`usage: healthcheck.mjs ${Object.keys(SERVICES).join('|')}`);
  process.exit(2);
}
const env = (name) => process.env[name]?.trim() || undefined;
const bound = env(service.hostVar)?.replace(/^\[|\]$/g, '');
// A wildcard bind answers on loopback; a specific address only on itself.
const host = !bound || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;
const port = Number(env(service.portVar) ?? service.port);
// A service that checks the Host header (the admin UI with ADMIN_ALLOWED_HOSTS) is asked under a name it answers to.
const hostHeader = (service.hostsVar && env(service.hostsVar)?.split(',')[0]?.trim()) || `${host.includes(':') ? `[${host}]` : host}:${port}`;

const req = request({ host, port, path: service.path, headers: { host: hostHeader }, timeout: 3000 }, (res) => {
  res.resume();
  process.exit(res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  console.error(`healthcheck: ${err.message}`);
  process.exit(1);
});
req.end();
