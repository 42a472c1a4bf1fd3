// What a unit test of this app would do: the same service, with Python replaced by a function.
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PoolService } from '@snakepit/nestjs';
import { SnakepitTestingModule, SnakepitTestingPool } from '@snakepit/nestjs/testing';

@Injectable()
class Doubler {
  constructor(private readonly pool: PoolService) {}
  double(x: number) {
    return this.pool.execute<{ result: number }>('double', { x });
  }
}

@Module({
  imports: [SnakepitTestingModule.forRoot({ tools: { double: ({ x }: { x: number }) => ({ result: x * 2 }) } })],
  providers: [Doubler],
})
class TestModule {}

async function main() {
  const app = await NestFactory.createApplicationContext(TestModule, { logger: false });
  const { result } = await app.get(Doubler).double(21);
  const calls = app.get(SnakepitTestingPool).calls.length;
  await app.close();
  console.log(`FAKE ${result} ${calls}`);
}
void main();
