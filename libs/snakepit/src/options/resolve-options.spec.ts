import { SnakepitConfigError } from '../errors';
import { InMemorySessionStore } from '../session/in-memory-session.store';
import { resolveOptions } from './resolve-options';

function problemsOf(options: unknown): string[] {
  try {
    resolveOptions(options, {});
  } catch (error) {
    expect(error).toBeInstanceOf(SnakepitConfigError);
    return (error as SnakepitConfigError).problems;
  }
  throw new Error('expected a SnakepitConfigError');
}

describe('resolveOptions', () => {
  it('makes one pool named "default" from top-level options, with defaults', () => {
    const resolved = resolveOptions({ adapter: 'pkg.mod:Adapter', poolSize: 3 }, {});
    expect(resolved.pools).toHaveLength(1);
    expect(resolved.pools[0]).toMatchObject({
      name: 'default',
      adapter: 'pkg.mod:Adapter',
      poolSize: 3,
      queueMaxSize: 1000,
      queueTimeoutMs: 10_000,
    });
    expect(resolved).toMatchObject({ waitForReady: false, poolingEnabled: true, shutdownGraceMs: 5000 });
  });

  it('takes the interpreter from SNAKEPIT_PYTHON unless given', () => {
    expect(resolveOptions({ adapter: 'a:B' }, { SNAKEPIT_PYTHON: '/opt/py' }).pools[0].pythonExecutable).toBe('/opt/py');
    expect(resolveOptions({ adapter: 'a:B', pythonExecutable: '/x' }, { SNAKEPIT_PYTHON: '/opt/py' }).pools[0].pythonExecutable).toBe('/x');
  });

  it('resolves relative paths against the project root, never the current directory', () => {
    const options = { adapter: 'a:B', pythonPath: ['python', '/abs'], runtimeDir: 'run', python: { strategy: 'venv' as const, venvDir: 'env' } };
    const resolved = resolveOptions(options, {}, '/srv/app');
    expect(resolved.projectRoot).toBe('/srv/app');
    expect(resolved.pools[0].pythonPath).toEqual(['/srv/app/python', '/abs']);
    expect(resolved.pools[0].pythonExecutable).toBe('/srv/app/env/bin/python');
    expect(resolved.pools[0].pythonDescription).toBe('/srv/app/env/bin/python (from venv)');
    expect(resolved.runtimeDir).toBe('/srv/app/run');
    expect(resolveOptions({ ...options, projectRoot: '/elsewhere' }, {}, '/srv/app').pools[0].pythonPath[0]).toBe('/elsewhere/python');
    expect(resolved.pools[0].bridge).toBe('bundled');
    expect(problemsOf({ adapter: 'a:B', python: { bridge: 'pip' } })).toEqual(['python.bridge must be one of the following values: bundled, installed']);
  });

  it("takes workers.start ('fork' by default) and names a bad value", () => {
    expect(resolveOptions({ adapter: 'a:B' }, {}, '/srv/app').workers.start).toBe('fork');
    expect(resolveOptions({ adapter: 'a:B', workers: { start: 'fork' } }, {}, '/srv/app').workers).toEqual({ transport: expect.any(String), start: 'fork' });
    expect(problemsOf({ adapter: 'a:B', workers: { start: 'clone' } })).toEqual(['workers.start must be one of the following values: fork, spawn']);
    expect(problemsOf({ adapter: 'a:B', bridge: { start: 'fork' } })).toEqual([expect.stringMatching(/^bridge\.start /)]);
  });

  it('uses top-level options as defaults for named pools', () => {
    const resolved = resolveOptions(
      { poolSize: 2, queue: { maxSize: 5 }, pools: [{ name: 'a', adapter: 'm:A' }, { name: 'b', adapter: 'm.B', poolSize: 1, queue: { timeoutMs: 7 } }] },
      {},
    );
    expect(resolved.pools.map((p) => [p.name, p.poolSize, p.queueMaxSize, p.queueTimeoutMs])).toEqual([
      ['a', 2, 5, 10_000],
      ['b', 1, 5, 7],
    ]);
  });

  it('names every bad field in one error', () => {
    const problems = problemsOf({
      adapter: 'not an adapter',
      poolSize: 0,
      queue: { maxSize: -1, timeoutMs: 'soon' },
      shutdown: { graceMs: 1.5 },
      waitForReady: 'yes',
      poolsize: 4,
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^adapter must look like/),
        expect.stringMatching(/^poolSize must not be less than 1/),
        expect.stringMatching(/^queue\.maxSize must not be less than 0/),
        expect.stringMatching(/^queue\.timeoutMs must be an integer/),
        expect.stringMatching(/^shutdown\.graceMs must be an integer/),
        expect.stringMatching(/^waitForReady must be a boolean/),
        'poolsize is not a known option',
      ]),
    );
  });

  it('checks arguments against the tools\' schemas unless validateArguments is false (per pool), and names a bad value', () => {
    const resolved = resolveOptions({ adapter: 'm:A', pools: [{ name: 'a' }, { name: 'b', validateArguments: false }] }, {});
    expect(resolved.pools.map((p) => [p.name, p.validateArguments])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    expect(resolveOptions({ adapter: 'm:A', validateArguments: false }, {}).pools[0].validateArguments).toBe(false);
    expect(problemsOf({ adapter: 'm:A', validateArguments: 'no' })).toEqual([expect.stringMatching(/^validateArguments must be a boolean/)]);
  });

  it('requires an adapter and unique pool names', () => {
    expect(problemsOf({})).toEqual([expect.stringMatching(/^adapter is required/)]);
    expect(problemsOf({ pools: [{ name: 'a', adapter: 'm:A' }, { name: 'a' }] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^pools\[1\]\.adapter is required/), expect.stringMatching(/^pools\[1\]\.name "a" is used/)]),
    );
  });

  it('reports bad fields inside pools with their index', () => {
    expect(problemsOf({ pools: [{ name: '1bad', adapter: 'm:A', poolSize: -2 }] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^pools\[0\]\.name must start with a letter/), expect.stringMatching(/^pools\[0\]\.poolSize/)]),
    );
  });

  it('refuses options that are not an object', () => {
    expect(problemsOf(null)).toEqual([expect.stringMatching(/options must be an object/)]);
  });

  it('takes a session store as it is (never copied), and names the methods a bad one lacks', () => {
    const store = new InMemorySessionStore();
    expect(resolveOptions({ adapter: 'a:B', sessions: { store, ttlMs: 1000 } }, {}).sessions).toMatchObject({ store, ttlMs: 1000 });
    expect(problemsOf({ adapter: 'a:B', sessions: { store: { create() {} } } })).toEqual([
      'sessions.store must be a SessionStore (it lacks get, touch, delete, list, size, getState, setState, deleteState, sweep)',
    ]);
    expect(problemsOf({ adapter: 'a:B', sessions: 5 }).join('; ')).toMatch(/sessions must be an object/);
    expect(resolveOptions({ adapter: 'a:B', sessions: { store: null } } as never, {}).sessions.store).toBeInstanceOf(InMemorySessionStore);
    expect(problemsOf({ adapter: 'a:B', sessions: { store: 'redis://x', ttlMs: -1 } })).toEqual([
      expect.stringMatching(/ttlMs/),
      expect.stringMatching(/^sessions.store must be a SessionStore/),
    ]);
  });

  it('takes threadsPerWorker in the thread profile only', () => {
    const thread = resolveOptions({ adapter: 'a:B', workerProfile: 'thread', threadsPerWorker: 6 }, {}).pools[0];
    expect(thread).toMatchObject({ workerProfile: 'thread', concurrentCalls: 6 });
    expect(resolveOptions({ adapter: 'a:B', workerProfile: 'thread' }, {}).pools[0].concurrentCalls).toBe(4);
    expect(resolveOptions({ adapter: 'a:B' }, {}).pools[0]).toMatchObject({ workerProfile: 'process', concurrentCalls: 1 });
    expect(problemsOf({ adapter: 'a:B', threadsPerWorker: 2 })).toEqual([expect.stringMatching(/^threadsPerWorker needs workerProfile: 'thread'/)]);
    expect(problemsOf({ adapter: 'a:B', workerProfile: 'fork' })).toEqual([expect.stringMatching(/^workerProfile must be one of/)]);
  });
});
