// Lint, and the package graph as a fact: @nx/enforce-module-boundaries refuses any import
// that this table does not allow. Each package is tagged `pkg:<name>` in its package.json.
import nx from '@nx/eslint-plugin';
import tsParser from '@typescript-eslint/parser';

/** Who may import whom (the arrows of ../shared/design.md). Keep it acyclic. */
export const packageGraph = {
  runtime: [],
  quantizers: ['runtime'],
  orthogonal: ['runtime'],
  kernels: ['runtime'],
  tasks: ['runtime'],
  models: ['runtime', 'quantizers', 'orthogonal', 'kernels'],
  train: ['runtime', 'models', 'tasks'],
  store: ['runtime'],
  integer: ['runtime', 'quantizers', 'orthogonal', 'models', 'tasks', 'kernels'],
  sweep: ['runtime', 'store', 'train', 'models', 'tasks', 'integer'],
  reporter: ['runtime', 'store'],
  dashboard: ['runtime', 'store', 'reporter'],
  bench: ['runtime', 'kernels', 'models', 'tasks', 'train', 'integer', 'sweep', 'store', 'orthogonal', 'quantizers'],
  cli: ['runtime', 'store', 'sweep', 'train', 'reporter', 'dashboard', 'integer', 'tasks', 'models', 'bench'],
};

export default [
  { ignores: ['**/dist/**', '**/build/**', '**/node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tsParser, parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: Object.entries(packageGraph).map(([name, deps]) => ({
            sourceTag: `pkg:${name}`,
            onlyDependOnLibsWithTags: deps.map((d) => `pkg:${d}`),
          })),
        },
      ],
    },
  },
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
