#!/usr/bin/env node
// Adds up the counts of every suite `make test` ran and prints one closing line.
const { existsSync, readFileSync } = require('node:fs');
const dir = '.snakepit/test-results';
let passed = 0;
let failed = 0;
for (const suite of ['unit', 'e2e']) {
  const file = `${dir}/${suite}.json`;
  if (!existsSync(file)) continue;
  const result = JSON.parse(readFileSync(file, 'utf8'));
  passed += result.numPassedTests;
  failed += result.numFailedTests;
}
const pythonLog = `${dir}/python.log`;
if (existsSync(pythonLog)) {
  const text = readFileSync(pythonLog, 'utf8');
  const ran = Number(/^Ran (\d+) tests?/m.exec(text)?.[1] ?? 0);
  const bad = [...text.matchAll(/(?:failures|errors)=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  passed += ran - bad;
  failed += bad;
}
console.log(`summary: ${passed} passed, ${failed} failed`);
