import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { sampleConfigFromEnv } from './sample.config';

async function bootstrap() {
  const config = sampleConfigFromEnv();
  const app = await NestFactory.create(AppModule.register(config.snakepit));
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  console.log(`Snakepit sample listening on ${url}`);
}

void bootstrap();
