#!/usr/bin/env node
// Scaffold a workspace package: node scripts/new-package.mjs NAME "description" scope:X,type:Y [dep,dep]
// Writes packages/NAME/{package.json,tsconfig.json,tsconfig.build.json}. The tags place it in the
// layer rules of eslint.config.mjs (`layers`, `scopes`): what it may import and who may import it.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { layers, scopes } from '../eslint.config.mjs';

const [name, description = '', tagList = '', deps = ''] = process.argv.slice(2);
const tags = tagList.split(',').filter(Boolean);
const known = (t) => t in layers || t in scopes;
if (!name || !/^[a-z][a-z0-9-]*$/.test(name) || tags.length !== 2 || !tags.every(known) || !tags.some((t) => t in layers) || !tags.some((t) => t in scopes)) {
  console.error('usage: node scripts/new-package.mjs NAME "description" scope:X,type:Y [dep,dep]  (NAME: lower-case, dashes)');
  console.error(`  scopes: ${Object.keys(scopes).join(', ')}`);
  console.error(`  types:  ${Object.keys(layers).join(', ')}`);
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
  nx: { tags },
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
