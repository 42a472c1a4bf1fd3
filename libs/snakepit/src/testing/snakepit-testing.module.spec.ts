import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, toArray } from 'rxjs';
import { IsString } from 'class-validator';
import {
  HostToolValidationError,
  PoolNotFoundError,
  RequestAbortedError,
  RequestTimeoutError,
  SerializationError,
  SessionNotFoundError,
  ToolKindError,
  UnknownToolError,
} from '../errors';
import { ndarray } from '../data/nd-array';
import { BoundPool } from '../pool/bound-pool';
import { InjectPool } from '../pool/inject-pool';
import { PoolService } from '../pool/pool.service';
import { SessionService } from '../session/session.service';
import { SnakepitTool } from '../tools/snakepit-tool.decorator';
import { ToolRegistryService } from '../tools/tool-registry.service';
import { SnakepitTestingModule } from './snakepit-testing.module';
import { SnakepitTestingPool } from './snakepit-testing-pool';
import { streamingTool } from './fake-call';
import type { FakeToolContext } from './testing.types';

class GreetArgs {
  @IsString() name: string;
}

@Injectable()
class Greeter {
  @SnakepitTool({ description: 'Greets on the host' })
  greet({ name }: GreetArgs) {
    return `Hello, ${name}`;
  }
}

@Injectable()
class Predictor {
  constructor(readonly pool: PoolService, @InjectPool('gpu') readonly gpu: BoundPool) {}
}

const rejectionOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('SnakepitTestingModule', () => {
  let finalized: string[];
  let seen: AbortSignal | undefined;

  async function boot() {
    const module = await Test.createTestingModule({
      imports: [
        SnakepitTestingModule.forRoot({
          tools: {
            double: ({ x }: { x: number }) => ({ y: x * 2 }),
            echo: (args: unknown) => args,
            bytes: () => new Uint8Array([1, 2, 3]),
            remember: async ({ value }: { value?: string }, ctx: FakeToolContext) => {
              if (value !== undefined) await ctx.setState('memo', value);
              return { memo: await ctx.getState('memo', 'nothing'), session: ctx.sessionId, ephemeral: ctx.ephemeral };
            },
            greetViaHost: ({ name }: { name: unknown }, ctx: FakeToolContext) => ctx.callHostTool('greet', { name }),
            slow: (_args: unknown, ctx: FakeToolContext) =>
              new Promise((resolve) => {
                seen = ctx.signal;
                const timer = setTimeout(resolve, 10_000);
                ctx.signal.addEventListener('abort', () => clearTimeout(timer));
              }),
            count: async function* ({ n }: { n: number }) {
              try {
                for (let i = 0; i < n; i++) yield { i };
              } finally {
                finalized.push('count');
              }
            },
            summarize: async function* () {
              yield 'partial';
              return { done: true };
            },
            failing: async function* () {
              yield 1;
              yield 2;
              throw new Error('the model broke');
            },
            stalls: async function* (_args: unknown, ctx: FakeToolContext) {
              try {
                yield 'first';
                yield 'second'; // a real pool holds a chunk back until the next one: 'first' goes now
                if (!ctx.signal.aborted) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
              } finally {
                finalized.push('stalls');
              }
            },
            wrapped: streamingTool(() => ({ async *[Symbol.asyncIterator]() { yield 'a'; yield 'b'; } })),
          },
          pools: { gpu: { embed: ({ text }: { text: string }) => [text.length] } },
        }),
      ],
      providers: [Greeter, Predictor],
    }).compile();
    await module.init();
    return module;
  }

  beforeEach(() => {
    finalized = [];
    seen = undefined;
  });

  it('runs the functions in place of Python, with the arguments as the wire would carry them, and records the calls', async () => {
    const module = await boot();
    const { pool, gpu } = module.get(Predictor);
    expect(await pool.execute('double', { x: 21 })).toEqual({ y: 42 });
    expect(await pool.execute('echo', { when: new Date(0), list: [1, 'a'], v: new Float32Array([1]) })).toEqual({ when: new Date(0), list: [1, 'a'], v: ndarray(new Float32Array([1])) });
    expect(await pool.execute('bytes')).toEqual(Buffer.from([1, 2, 3]));
    expect(await gpu.execute('embed', { text: 'four' })).toEqual([4]);
    expect(module.get(SnakepitTestingPool).calls.map((call) => `${call.pool}:${call.tool}`)).toEqual(['default:double', 'default:echo', 'default:bytes', 'gpu:embed']);
    expect(pool.stats().succeeded).toBe(3);
    expect(module.get(ToolRegistryService).listPythonTools('gpu')).toEqual([{ name: 'embed', description: '', supportsStreaming: false, parameters: [] }]);
    await module.close();
  });

  it('fails as a real pool does: unknown tool or pool, the wrong kind of call, arguments that cannot travel', async () => {
    const module = await boot();
    const pool = module.get(PoolService);
    const unknown = await rejectionOf(pool.execute('nope'));
    expect(unknown).toBeInstanceOf(UnknownToolError);
    expect((unknown as UnknownToolError).available).toContain('double');
    expect(await rejectionOf(pool.execute('double', {}, { pool: 'tpu' }))).toBeInstanceOf(PoolNotFoundError);
    expect(await rejectionOf(pool.execute('count', { n: 1 }))).toBeInstanceOf(ToolKindError);
    await expect(pool.executeStream('double', { x: 1 }).next()).rejects.toBeInstanceOf(ToolKindError);
    expect(await rejectionOf(pool.execute('echo', { f: () => 1 }))).toMatchObject({ constructor: SerializationError, path: 'args.f' });
    await module.close();
  });

  it('keeps session state in the real SessionService, and ephemeral state per call', async () => {
    const module = await boot();
    const pool = module.get(PoolService);
    const sessions = module.get(SessionService);
    const { id } = await sessions.create();
    await pool.executeInSession(id, 'remember', { value: 'kept' });
    expect(await pool.executeInSession(id, 'remember', {})).toEqual({ memo: 'kept', session: id, ephemeral: false });
    expect(await sessions.getState(id, 'memo')).toBe('kept');
    expect(await pool.execute('remember', {})).toMatchObject({ memo: 'nothing', ephemeral: true });
    expect(await rejectionOf(pool.executeInSession('missing', 'remember'))).toBeInstanceOf(SessionNotFoundError);
    await module.close();
  });

  it('lets fake tools call the app’s @SnakepitTool host tools, validated', async () => {
    const module = await boot();
    const pool = module.get(PoolService);
    expect(await pool.execute('greetViaHost', { name: 'Ada' })).toBe('Hello, Ada');
    expect(await rejectionOf(pool.execute('greetViaHost', { name: 7 }))).toBeInstanceOf(HostToolValidationError);
    await module.close();
  });

  it('applies timeouts and abort signals, and tells the tool through its own signal', async () => {
    const module = await boot();
    const pool = module.get(PoolService);
    expect(await rejectionOf(pool.execute('slow', {}, { timeoutMs: 20 }))).toBeInstanceOf(RequestTimeoutError);
    expect(seen?.aborted).toBe(true);
    const controller = new AbortController();
    const call = rejectionOf(pool.execute('slow', {}, { signal: controller.signal }));
    controller.abort();
    expect(await call).toBeInstanceOf(RequestAbortedError);
    expect(pool.stats()).toMatchObject({ timeouts: 1, aborted: 1, errors: 2 });
    await module.close();
  });

  it('streams chunks with the final marker, a returned value last, and stops the generator when the reader leaves', async () => {
    const module = await boot();
    const pool = module.get(PoolService);
    const chunks = [];
    for await (const chunk of pool.executeStream('count', { n: 3 })) chunks.push(chunk);
    expect(chunks).toEqual([
      { data: { i: 0 }, index: 0, final: false },
      { data: { i: 1 }, index: 1, final: false },
      { data: { i: 2 }, index: 2, final: true },
    ]);
    expect(await firstValueFrom(pool.stream$('summarize').pipe(toArray()))).toEqual([
      { data: 'partial', index: 0, final: false },
      { data: { done: true }, index: 1, final: true },
    ]);
    finalized = [];
    for await (const chunk of pool.executeStream<{ i: number }>('count', { n: 1000 })) if (chunk.data.i === 5) break;
    expect(finalized).toEqual(['count']);
    expect(pool.stats()).toMatchObject({ cancelled: 1, succeeded: 2 });
    const { id } = await module.get(SessionService).create();
    const inSession = [];
    for await (const chunk of pool.executeStreamInSession(id, 'count', { n: 2 })) inSession.push(chunk.index);
    expect(inSession).toEqual([0, 1]);
    await module.close();
  });

  it('delivers the chunks before an error, returns at once while a read waits, and takes marked tools', async () => {
    const module = await boot();
    const pool = module.get(PoolService);
    const before: unknown[] = [];
    const failure = await rejectionOf((async () => {
      for await (const chunk of pool.executeStream('failing')) before.push(chunk.data);
    })());
    expect(before).toEqual([1, 2]);
    expect((failure as Error).message).toBe('the model broke');
    const stalling = pool.executeStream('stalls');
    expect((await stalling.next()).value).toMatchObject({ data: 'first', final: false });
    const waiting = stalling.next(); // 'second' is held, and the tool waits for its signal
    await stalling.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
    await new Promise((resolve) => setImmediate(resolve));
    expect(finalized).toEqual(['stalls']);
    const wrapped = [];
    for await (const chunk of pool.executeStream('wrapped')) wrapped.push(chunk);
    expect(wrapped.map((chunk) => [chunk.data, chunk.final])).toEqual([['a', false], ['b', true]]);
    await module.close();
  });
});
