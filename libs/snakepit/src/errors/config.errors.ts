import { SnakepitError } from './snakepit.error';

/** The module's options are invalid. `problems` names every bad field. */
export class SnakepitConfigError extends SnakepitError {
  readonly code = 'config_invalid';

  constructor(
    readonly problems: string[],
    where = 'SnakepitModule.forRoot()/forRootAsync()',
  ) {
    super(
      `Invalid Snakepit options (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nFix these fields in ${where}.`,
    );
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}

/** SnakepitMetricsModule found its metric names taken in the registry it was given. */
export class MetricsConflictError extends SnakepitError {
  readonly code = 'metrics_conflict';

  constructor(readonly metrics: string[]) {
    super(
      `The Prometheus registry already has ${metrics.join(', ')}: another SnakepitMetricsModule (another application in this process?) ` +
        'registered them. Give each application its own registry: SnakepitMetricsModule.forRoot({ registry: new Registry() }).',
    );
  }
}
