import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { sampleConfigFromEnv } from './sample.config';

async function bootstrap() {
  const config = sampleConfigFromEnv();
  const app = await NestFactory.create(AppModule.register(config.snakepit));
  app.enableShutdownHooks();
  await app.listen(config.port);
  console.log(`Snakepit sample listening on http://localhost:${config.port}`);
}

void bootstrap();
