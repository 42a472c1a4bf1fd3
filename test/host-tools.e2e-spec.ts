import { readFileSync, statSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Injectable } from '@nestjs/common';
import {
  HostToolExistsError,
  InvalidHostToolNameError,
  SessionService,
  SnakepitEvent,
  SnakepitEvents,
  SnakepitTool,
  ToolRegistryService,
  type HostToolContext,
} from '@snakepit/nestjs';
import { IsInt, IsString, Min } from 'class-validator';
import { HostBridgeServer, SECRET_METADATA_KEY } from '../libs/snakepit/src/bridge/host-bridge.server';
import { hostServiceDefinition } from '../libs/snakepit/src/bridge/wire';
import { bootApp, type TestApp } from './support/app';

class RepeatArgs {
  @IsString() text: string;
  @IsInt() @Min(1) times: number;
}

@Injectable()
class TextTools {
  contexts: HostToolContext[] = [];

  @SnakepitTool({ description: 'Repeat a text' })
  repeat({ text, times }: RepeatArgs, context: HostToolContext): string {
    this.contexts.push(context);
    return text.repeat(times);
  }

  @SnakepitTool({ name: 'text.explode' })
  async explode(): Promise<never> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new Error('kaboom');
  }

  @SnakepitTool()
  bytes(): Buffer {
    return Buffer.from([1, 2, 3]);
  }
}

type ErrorReport = { type: string; code: string; message: string; is_value_error: boolean };

describe.each(['tcp', 'unix'] as const)('host tools called from Python (%s bridge)', (transport) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1, bridge: { transport } }, { providers: [TextTools] });
    await app.pool.ready();
  });
  afterAll(() => app.close());

  it('runs a @SnakepitTool method, with its DTO and the caller’s session', async () => {
    const { id } = await app.module.get(SessionService).create('s-host');
    await expect(app.pool.executeInSession(id, 'call_host', { name: 'repeat', args: { text: 'ab', times: 3 } })).resolves.toBe('ababab');
    const [worker] = app.pool.listWorkers();
    expect(app.module.get(TextTools).contexts.at(-1)).toEqual({ sessionId: 's-host', workerId: worker.id });
  });

  it('returns bytes from a host tool to Python as bytes', async () => {
    // call_host returns Python bytes, which come back to Node as a Buffer.
    const result = await app.pool.execute<Buffer>('call_host', { name: 'bytes' });
    expect([...result]).toEqual([1, 2, 3]);
  });

  it('turns a DTO validation failure into a Python ValueError naming the fields', async () => {
    const report = await app.pool.execute<ErrorReport>('call_host_error', { name: 'repeat', args: { text: 5, times: 0 } });
    expect(report).toMatchObject({ type: 'HostToolValidationError', code: 'host_tool_validation_failed', is_value_error: true });
    expect(report.message).toMatch(/text must be a string/);
    expect(report.message).toMatch(/times must not be less than 1/);
  });

  it('passes a host tool’s exception to Python with its code and message', async () => {
    const report = await app.pool.execute<ErrorReport>('call_host_error', { name: 'text.explode' });
    expect(report).toMatchObject({ type: 'HostToolError', code: 'host_tool_failed' });
    expect(report.message).toContain('kaboom');
  });

  it('reports in its event whether the host tool succeeded', async () => {
    const calls: Array<{ tool: unknown; ok: unknown }> = [];
    const stop = app.module.get(SnakepitEvents).on(SnakepitEvent.HostToolCalled, ({ tool, ok }) => calls.push({ tool, ok }));
    try {
      await app.pool.execute('call_host_error', { name: 'text.explode' });
      await app.pool.execute('call_host', { name: 'repeat', args: { text: 'a', times: 1 } });
    } finally {
      stop();
    }
    expect(calls).toEqual([
      { tool: 'text.explode', ok: false },
      { tool: 'repeat', ok: true },
    ]);
  });

  it('tells Python which host tools exist when it calls an unknown one', async () => {
    const report = await app.pool.execute<ErrorReport>('call_host_error', { name: 'nope' });
    expect(report).toMatchObject({ type: 'HostToolNotFoundError', code: 'host_tool_not_found' });
    expect(report.message).toContain('repeat');
    await expect(app.pool.execute('host_tool_names')).resolves.toEqual(['bytes', 'repeat', 'text.explode']);
  });

  it('keeps the bridge secret out of every worker environment: its own, /proc, and its subprocesses', async () => {
    const { secret } = await app.module.get(HostBridgeServer).workerAccess();
    for (const worker of app.pool.listWorkers()) {
      expect(readFileSync(`/proc/${worker.pid}/environ`, 'utf8')).not.toContain(secret);
    }
    expect(await app.pool.execute('host_secret_visible', { secret })).toEqual({ in_environ: false, in_initial_environ: false, in_subprocess: false });
  });

  it('refuses a stray client that lacks the secret, and logs it as an event', async () => {
    const access = await app.module.get(HostBridgeServer).workerAccess();
    if (transport === 'unix') {
      const socket = access.address.replace(/^unix:/, '');
      expect(statSync(socket).mode & 0o777).toBe(0o600);
    }
    const refused: unknown[] = [];
    const off = app.module.get(SnakepitEvents).on(SnakepitEvent.BridgeCallRefused, (payload) => refused.push(payload));
    const Client = grpc.makeGenericClientConstructor(hostServiceDefinition(), 'Host') as any;
    const client = new Client(access.address, grpc.credentials.createInsecure());
    const list = (secret?: string) =>
      new Promise<any>((resolve) => {
        const metadata = new grpc.Metadata();
        if (secret) metadata.set(SECRET_METADATA_KEY, secret);
        client.ListTools({}, metadata, (error: grpc.ServiceError | null, reply: any) => resolve(error ?? reply));
      });
    try {
      expect((await list()).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await list('00'.repeat(32))).code).toBe(grpc.status.UNAUTHENTICATED);
      expect((await list(access.secret)).tools.map((t: any) => t.name)).toContain('repeat');
      expect(refused).toHaveLength(2);
    } finally {
      off();
      client.close();
    }
  });
});

describe('the host bridge at shutdown', () => {
  it('stops listening even when the app closes while the bridge is still starting', async () => {
    const app = await bootApp({ poolSize: 1 });
    const pending = app.module.get(HostBridgeServer).workerAccess();
    await app.close();
    const { address, secret } = await pending;
    const Client = grpc.makeGenericClientConstructor(hostServiceDefinition(), 'Host') as any;
    const client = new Client(address, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set(SECRET_METADATA_KEY, secret);
    const outcome = await new Promise<any>((resolve) =>
      client.ListTools({}, metadata, { deadline: Date.now() + 2000 }, (error: grpc.ServiceError | null) => resolve(error)),
    );
    client.close();
    expect(outcome?.code).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('ToolRegistryService', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1 });
  });
  afterAll(() => app.close());

  it('registers, lists, calls and unregisters tools, refusing bad and duplicate names', async () => {
    const registry = app.module.get(ToolRegistryService);
    registry.register('math.double', ({ x }: { x: number }) => x * 2, { description: 'Double x' });
    expect(registry.list()).toEqual([{ name: 'math.double', description: 'Double x', parameters: undefined }]);
    await expect(registry.call('math.double', { x: 4 })).resolves.toBe(8);
    expect(() => registry.register('math.double', () => 0)).toThrow(HostToolExistsError);
    expect(() => registry.register('9lives', () => 0)).toThrow(InvalidHostToolNameError);
    expect(() => registry.register('has space', () => 0)).toThrow(InvalidHostToolNameError);
    await expect(app.pool.execute('call_host', { name: 'math.double', args: { x: 21 } })).resolves.toBe(42);
    expect(registry.unregister('math.double')).toBe(true);
    await expect(app.pool.execute('host_tool_names')).resolves.toEqual([]);
  });

  it('registers the tools of a provider once, even when another provider aliases it', async () => {
    const aliased = await bootApp({ poolingEnabled: false }, { providers: [TextTools, { provide: 'ALIAS', useExisting: TextTools }] });
    try {
      expect(aliased.module.get(ToolRegistryService).list().map((t) => t.name)).toEqual(['repeat', 'text.explode', 'bytes']);
    } finally {
      await aliased.close();
    }
  });

  it('lists the Python tools each worker reported, with their parameters', async () => {
    await app.pool.ready();
    const tools = app.module.get(ToolRegistryService).listPythonTools();
    const add = tools.find((t) => t.name === 'add')!;
    expect(add.description).toBe('Return a + b.');
    expect((add.parameters as Array<{ name: string }>).map((p) => p.name)).toEqual(['a', 'b']);
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['ping', 'counter', 'call_host']));
  });
});
