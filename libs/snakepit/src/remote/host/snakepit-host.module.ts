import { Module, type DynamicModule } from '@nestjs/common';
import { remoteSubjects } from '../remote-subjects';
import { resolveHostOptions, type SnakepitHostOptions } from '../remote-options';
import { HostCalls } from './host-calls';
import { hostController } from './host-controller';
import { HostSessions } from './host-sessions';
import { SNAKEPIT_HOST_OPTIONS } from './host-options.token';

/**
 * Serves this app's pools (from SnakepitModule) to callers on a broker. Import it beside
 * SnakepitModule, then connect the transport as Nest apps do:
 * `app.connectMicroservice({ transport: Transport.NATS, options: { servers } })` and
 * `await app.startAllMicroservices()`. Callers use SnakepitRemoteModule with the same
 * `subjectPrefix`.
 */
@Module({})
export class SnakepitHostModule {
  static forRoot(options: SnakepitHostOptions = {}): DynamicModule {
    const resolved = resolveHostOptions(options);
    return {
      module: SnakepitHostModule,
      controllers: [hostController(remoteSubjects(resolved.subjectPrefix), resolved.hostId)],
      providers: [{ provide: SNAKEPIT_HOST_OPTIONS, useValue: resolved }, HostCalls, HostSessions],
      exports: [HostCalls],
    };
  }
}
