// Lint, and the package graph as a fact: @nx/enforce-module-boundaries refuses any import that
// the layer rules below do not allow (and any cycle). Each package carries two tags in its
// package.json (`nx.tags`), as nx-examples does:
// - type: its layer. A layer may import the layers listed for it, nothing above.
// - scope: its domain. The learning code (numerics, models, tasks, training, integer inference)
//   never reaches the experiment records (store, sweep, reports): it emits events, the sweep
//   side records them.
import nx from '@nx/eslint-plugin';
import tsParser from '@typescript-eslint/parser';

/** Layers, lowest first, and what each may import (../shared/design.md's arrows). */
export const layers = {
  'type:util': [], // runtime: tfjs, settings, config layer, logging
  'type:numerics': ['type:util', 'type:numerics'], // quantizers, orthogonal, kernels
  'type:data': ['type:util'], // tasks
  'type:model': ['type:util', 'type:numerics'], // models
  'type:inference': ['type:util', 'type:numerics', 'type:data', 'type:model'], // integer
  'type:training': ['type:util', 'type:data', 'type:model', 'type:inference'], // train
  'type:storage': ['type:util'], // store
  'type:orchestration': ['type:util', 'type:storage', 'type:training'], // sweep: runs trials through train only
  'type:reporting': ['type:util', 'type:storage', 'type:reporting'], // reporter, dashboard
  'type:app': ['*'], // cli, bench
};

/**
 * What tests may import beyond their layer: sweep's tests check what its trials wrote (the
 * integer model files, the task names of experiments/*.yaml).
 */
export const testLayers = {
  ...layers,
  'type:orchestration': [...layers['type:orchestration'], 'type:data', 'type:inference'],
};

/** Domains and which domains each may import. */
export const scopes = {
  'scope:shared': ['scope:shared'],
  'scope:learning': ['scope:shared', 'scope:learning'],
  'scope:experiments': ['scope:shared', 'scope:learning', 'scope:experiments'],
  'scope:app': ['*'],
};

/** The module-boundary rule over the given layers and the scopes. */
function boundaries(layerRules) {
  return [
    'error',
    {
      enforceBuildableLibDependency: false,
      allow: [],
      depConstraints: Object.entries({ ...layerRules, ...scopes }).map(([sourceTag, allowed]) => ({
        sourceTag,
        onlyDependOnLibsWithTags: allowed,
      })),
    },
  ];
}

export default [
  { ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tsParser, parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': boundaries(layers),
    },
  },
  { files: ['**/*.test.ts', '**/src/test-fixtures/**/*.ts'], rules: { '@nx/enforce-module-boundaries': boundaries(testLayers) } },
  // Settings from the environment have one place: @orthoquant/runtime's settings.ts (typed, checked,
  // documented in the README's table). Tests and their fixtures may set up and restore variables
  // for the code under test and the child processes they start.
  {
    files: ['**/*.ts'],
    ignores: ['packages/runtime/src/settings.ts', '**/*.test.ts', '**/src/test-fixtures/**', '**/src/testing/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: "read settings with setting('…') from @orthoquant/runtime (settings.ts); start children with childEnv()" },
      ],
    },
  },
];
