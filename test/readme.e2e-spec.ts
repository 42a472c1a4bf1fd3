import { spawnSync } from 'node:child_process';
import { readmeBlocks } from './support/readme-blocks';

const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';

// The TypeScript blocks are compiled by the consumer test, in an app that installed the tarball.
describe('the README', () => {
  it('has TypeScript blocks for the consumer test to compile', () => {
    expect(readmeBlocks('ts').length).toBeGreaterThanOrEqual(8);
  });

  it.each(readmeBlocks('python').map((block) => [block.line, block.code]))('has a Python block at line %i that compiles', (line, code) => {
    const result = spawnSync(PYTHON, ['-c', 'import sys; compile(sys.stdin.read(), sys.argv[1], "exec")', `README.md:${line}`], { input: code, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
