import type { OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';

/** The Redis connection of the session store, closed when the app stops. */
export class RedisConnection implements OnApplicationShutdown {
  constructor(private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
