import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secondNestCore } from './nest-core-copies';

/** A directory with its own node_modules/@nestjs/core, and a file in it. */
function project(root: string, name: string): string {
  const core = join(root, name, 'node_modules', '@nestjs', 'core');
  mkdirSync(core, { recursive: true });
  writeFileSync(join(core, 'package.json'), '{"name":"@nestjs/core","main":"index.js"}');
  writeFileSync(join(core, 'index.js'), '');
  writeFileSync(join(root, name, 'main.js'), '');
  return join(root, name, 'main.js');
}

describe('secondNestCore', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'snakepit-nest-copies-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds two copies when the library is a link into a checkout with its own node_modules', () => {
    const app = project(root, 'app');
    project(root, 'checkout');
    mkdirSync(join(root, 'app', 'node_modules', '@snakepit'));
    symlinkSync(join(root, 'checkout'), join(root, 'app', 'node_modules', '@snakepit', 'nestjs'));
    const copies = secondNestCore(app, join(root, 'app', 'node_modules', '@snakepit', 'nestjs', 'main.js'));
    expect(copies).toEqual({ app: join(root, 'app', 'node_modules', '@nestjs', 'core', 'package.json'), library: join(root, 'checkout', 'node_modules', '@nestjs', 'core', 'package.json') });
  });

  it('finds one when the library is installed in the app', () => {
    const app = project(root, 'app');
    const library = join(root, 'app', 'node_modules', '@snakepit', 'nestjs', 'dist');
    mkdirSync(library, { recursive: true });
    expect(secondNestCore(app, join(library, 'index.js'))).toBeUndefined();
    expect(secondNestCore(undefined)).toBeUndefined();
  });
});
