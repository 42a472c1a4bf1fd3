import { ToolRegistryService } from '@snakepit/nestjs';
import { bootApp, type TestApp } from './support/app';

/** Typed contracts: the schemas Python derives from type hints reach the host with the tools. */
describe('tool schemas from Python type hints', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await bootApp({ poolSize: 1 });
    await app.pool.ready();
  });
  afterAll(() => app?.close());

  it('arrive with every tool in listPythonTools (arguments, result, chunks of a stream)', () => {
    const tools = new Map(app.module.get(ToolRegistryService).listPythonTools().map((tool) => [tool.name, tool]));
    expect(tools.size).toBeGreaterThan(10);
    for (const tool of tools.values()) {
      expect(tool.schemas?.arguments).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' });
      expect(tool.schemas?.description).toBe(tool.description);
      expect(tool.schemas?.chunk !== undefined).toBe(tool.supportsStreaming);
    }
    expect(tools.get('count')!.schemas).toMatchObject({
      arguments: { properties: { n: { type: 'integer' }, delay_ms: { type: 'number', default: 0 } }, required: ['n'], additionalProperties: false },
      chunk: { type: 'object' },
    });
    expect(tools.get('add')!.schemas!.arguments).toMatchObject({ properties: { a: {}, b: {} }, required: ['a', 'b'] }); // hinted Any: open
  });
});
