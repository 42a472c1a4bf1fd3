import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SharedMemoryDir, sharedMemoryDirPrefix } from './shared-memory-dir';

describe('SharedMemoryDir', () => {
  let parent: string;
  let dir: SharedMemoryDir;

  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'snakepit-shm-spec-'));
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));
  beforeEach(() => {
    dir = new SharedMemoryDir('run1', parent);
  });
  afterEach(() => dir.removeAll());

  const mode = (path: string) => statSync(path).mode & 0o777;

  it('makes its directory on first use: private (0700) and named by the run id', () => {
    const made: string[] = [];
    dir = new SharedMemoryDir('run1', parent, (path) => made.push(path));
    expect(readdirSync(parent)).toEqual([]);
    const path = dir.path;
    expect(basename(path)).toMatch(/^snakepit-run1-[A-Za-z0-9]{6}$/);
    expect(basename(path).startsWith(sharedMemoryDirPrefix('run1'))).toBe(true);
    expect(mode(path)).toBe(0o700);
    expect(dir.path).toBe(path);
    expect(made).toEqual([path]);
  });

  it('writes segments as 0600 files holding the parts one after the other', () => {
    expect(dir.write('h1', [Buffer.from('ab'), new Uint8Array([0x63]), new Uint8Array(0)])).toBe(3);
    const file = join(dir.path, 'h1');
    expect(readFileSync(file, 'utf8')).toBe('abc');
    expect(mode(file)).toBe(0o600);
  });

  it('refuses to write over a segment that exists', () => {
    dir.write('h1', [Buffer.from('first')]);
    expect(() => dir.write('h1', [Buffer.from('second')])).toThrow(/EEXIST/);
    expect(dir.read('h1', 0, 5).toString()).toBe('first');
  });

  it.each([
    ['empty', ''],
    ['hidden', '.hidden'],
    ['a path out', '../escape'],
    ['with a slash', 'a/b'],
    ['with a space', 'a b'],
    ['129 characters long', 'x'.repeat(129)],
  ])('refuses a segment name %s', (_what, name) => {
    expect(() => dir.write(name, [Buffer.from('x')])).toThrow(/is not a segment name/);
    expect(() => dir.read(name, 0, 0)).toThrow(/is not a segment name/);
  });

  it('gives names that differ, starting with the prefix', () => {
    const names = [dir.newName('h'), dir.newName('h'), dir.newName('w')];
    expect(new Set(names).size).toBe(3);
    expect(names[2].startsWith('w')).toBe(true);
  });

  it('reads a range of a segment, and says when the segment is shorter than the range', () => {
    dir.write('w1.1', [Buffer.from('0123456789')]);
    expect(dir.read('w1.1', 3, 4).toString()).toBe('3456');
    expect(dir.read('w1.1', 10, 0)).toEqual(Buffer.alloc(0));
    expect(() => dir.read('w1.1', 8, 4)).toThrow('segment w1.1 holds 10 bytes, not 12');
    expect(() => dir.read('w1.2', 0, 1)).toThrow(/ENOENT/);
  });

  it('refuses to read what is not a regular file, without blocking on a FIFO or following a link', () => {
    spawnSync('mkfifo', [join(dir.path, 'w1.fifo')]);
    symlinkSync('/etc/hostname', join(dir.path, 'w1.link'));
    expect(() => dir.read('w1.fifo', 0, 1)).toThrow(/not a regular file/);
    expect(() => dir.read('w1.link', 0, 1)).toThrow(/ELOOP/);
  });

  it('removes one segment, quietly when it is gone already', () => {
    dir.write('h1', [Buffer.from('x')]);
    dir.remove('h1');
    dir.remove('h1');
    expect(dir.list()).toEqual([]);
  });

  it('removes the segments whose names start with a prefix (a worker’s, once it has exited)', () => {
    for (const name of ['w1.1', 'w1.2', 'w12.1', 'h3']) dir.write(name, [Buffer.from(name)]);
    expect(dir.removeStartingWith('w1.')).toBe(2);
    expect(dir.list().sort()).toEqual(['h3', 'w12.1']);
  });

  it('removes the directory and everything in it, and never makes it again (the run is over)', () => {
    dir.write('h1', [Buffer.from('x')]);
    const first = dir.path;
    expect(dir.existing).toBe(first);
    dir.removeAll();
    expect(existsSync(first)).toBe(false);
    expect([dir.list(), dir.existing]).toEqual([[], undefined]);
    expect(() => dir.write('h1', [Buffer.from('y')])).toThrow(/shut down/);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('does nothing at all until used: no directory to list, remove or sweep', () => {
    dir.remove('h1');
    expect(dir.removeStartingWith('w')).toBe(0);
    expect(dir.list()).toEqual([]);
    dir.removeAll();
    expect(readdirSync(parent)).toEqual([]);
  });
});
