#!/usr/bin/env node
// Scaffold a workspace package: node scripts/new-package.mjs NAME "description" [dep,dep]
// Writes packages/NAME/{package.json,tsconfig.json,tsconfig.build.json}. Add the package to
// the graph in eslint.config.mjs (who may import it) before importing it anywhere.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';

const [name, description = '', deps = ''] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node scripts/new-package.mjs NAME "description" [dep,dep]  (NAME: lower-case, dashes)');
  process.exit(2);
}
const dir = `packages/${name}`;
if (existsSync(`${dir}/package.json`)) {
  console.error(`${dir}/package.json exists already`);
  process.exit(2);
}
mkdirSync(`${dir}/src`, { recursive: true });
const entry = (f) => ({ '@orthoquant/source': `./src/${f}.ts`, types: `./dist/${f}.d.ts`, default: `./dist/${f}.js` });
const pkg = {
  name: `@orthoquant/${name}`,
  version: '0.1.0',
  private: true,
  type: 'module',
  description,
  exports: { '.': entry('index'), './testing': entry('testing'), './package.json': './package.json' },
  files: ['dist', 'src'],
  scripts: {
    build: 'tsc -p tsconfig.build.json',
    typecheck: 'tsc -p tsconfig.json --noEmit',
    lint: 'eslint src',
    test: 'node ../../scripts/run-tests.mjs',
  },
  dependencies: Object.fromEntries(deps.split(',').filter(Boolean).map((d) => [`@orthoquant/${d}`, '0.1.0'])),
  nx: { tags: [`pkg:${name}`] },
};
writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + '\n');
writeFileSync(
  `${dir}/tsconfig.json`,
  JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { noEmit: true }, include: ['src/**/*.ts'] }, null, 2) + '\n',
);
writeFileSync(
  `${dir}/tsconfig.build.json`,
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { customConditions: [], rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' },
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
    },
    null,
    2,
  ) + '\n',
);
console.log(`created ${dir}`);
