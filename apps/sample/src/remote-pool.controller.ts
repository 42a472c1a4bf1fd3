import { Controller, Get, Param } from '@nestjs/common';
import { RemotePoolService } from '@snakepit/nestjs/remote';

/** GET /pool/stats of a remote-mode app: the hosts it sees and what it waits for. */
@Controller('pool')
export class RemotePoolController {
  constructor(private readonly remote: RemotePoolService) {}

  @Get('stats')
  stats() {
    return this.remote.stats();
  }

  /** One host's own stats, asked through the broker. */
  @Get('hosts/:id')
  host(@Param('id') id: string) {
    return this.remote.hostStats(id);
  }
}
