export { SnakepitTestingModule } from './snakepit-testing.module';
export { SnakepitTestingPool } from './snakepit-testing-pool';
export { streamingTool } from './fake-call';
export type { FakeTool, FakeToolContext, RecordedCall, SnakepitTestingOptions } from './testing.types';
