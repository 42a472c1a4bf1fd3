import { NestFactory } from '@nestjs/core';
import { Transport } from '@nestjs/microservices';
import { serveApiDocs } from './api-docs';
import { AppModule } from './app.module';
import { sampleConfigFromEnv } from './sample.config';

async function bootstrap() {
  const config = sampleConfigFromEnv();
  const app = await NestFactory.create(AppModule.register(config.snakepit, config));
  app.enableShutdownHooks();
  if (!config.remote) serveApiDocs(app); // remote mode has no tools of its own to describe; before listen()
  if (config.natsUrl && !config.remote) {
    // Serves this app's pools on the broker too (SnakepitHostModule's message handlers).
    app.connectMicroservice({ transport: Transport.NATS, options: { servers: config.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 250 } });
    await app.startAllMicroservices();
  }
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  console.log(`Snakepit sample listening on ${url}${config.natsUrl ? ` (${config.remote ? 'calling pools on' : 'serving its pools on'} ${config.natsUrl})` : ''}`);
}

void bootstrap();
