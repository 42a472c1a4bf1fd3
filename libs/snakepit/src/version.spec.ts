import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SNAKEPIT_VERSION } from './version';

describe('SNAKEPIT_VERSION', () => {
  it('is the npm package’s version and the Python bridge’s', () => {
    const npm = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;
    const python = /^__version__ = "([^"]+)"$/m.exec(readFileSync(join(__dirname, '..', '..', '..', 'priv', 'python', 'snakepit_bridge', '__init__.py'), 'utf8'))?.[1];
    expect(SNAKEPIT_VERSION).toBe(npm);
    expect(python).toBe(npm);
  });
});
