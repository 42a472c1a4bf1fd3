import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedOptions } from './options/resolve-options';
import { SharedMemoryDir, defaultSharedMemoryParent } from './process/shared-memory-dir';
import { SNAKEPIT_CONFIG } from './snakepit.constants';

/** This application's run: the id that marks its workers, and its shared-memory directory. */
@Injectable()
export class SnakepitRun {
  readonly runId = randomUUID();
  readonly sharedMemory: SharedMemoryDir;

  constructor(@Inject(SNAKEPIT_CONFIG) options: ResolvedOptions) {
    this.sharedMemory = new SharedMemoryDir(this.runId, options.sharedMemoryDir ?? defaultSharedMemoryParent());
  }
}
