// Test support shared by every workspace's tests: real processes, real sockets, real network peers.
export { startService, nodeArgs, nodeEntry, jsonLines, listeningSockets, freePort, REPO_ROOT, type ServiceProcess, type BoundSocket } from './process.ts';
export { createRemotePeer, canCreateNetns, type RemotePeer } from './netns.ts';
export { fuzzSettings, type FuzzSettings } from './fuzz.ts';
export { startPostgres, type PostgresServer, type PostgresServerOptions } from './postgres.ts';
