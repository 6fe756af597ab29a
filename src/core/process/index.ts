/**
 * Process host: runs heavy work (verification, parameter server, training workers)
 * in child processes. One interface, two implementations chosen once at start-up:
 * Node's child_process.fork here (CLI, serve host, tests) and Electron's
 * utilityProcess in src/main. Roles are named; each role module exports `run(port)`.
 * This folder knows nothing about what the roles do.
 */
export * from './host'
export { nodeProcessHost } from './node-host'
