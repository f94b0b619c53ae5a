/**
 * Layers point one way: lib/ holds the pieces and engines, pipelines/ composes them, cli/
 * sits on top of both. `npm run lint` checks these rules (dependency-cruiser).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-imports-pipelines',
      comment: 'lib/ is the layer below pipelines/: a piece a pipeline shares belongs in lib/',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^pipelines/' },
    },
    {
      name: 'lib-imports-cli',
      comment: 'the command line sits on top of lib/ and pipelines/',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^cli/' },
    },
    {
      name: 'pipelines-import-cli',
      comment: 'the command line sits on top of pipelines/',
      severity: 'error',
      from: { path: '^pipelines/' },
      to: { path: '^cli/' },
    },
    {
      name: 'folder-cycle',
      comment: 'folders form no cycles, so each folder can be read (and tested) after the ones it imports',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'module-cycle',
      comment:
        'no module imports itself through others (a type-only import or a lazy import() is not a load-time cycle)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only', 'dynamic-import'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // the compiled package is checked through its sources
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
