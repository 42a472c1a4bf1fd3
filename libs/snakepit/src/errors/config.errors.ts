import { SnakepitError } from './snakepit.error';

/** The module's options are invalid. `problems` names every bad field. */
export class SnakepitConfigError extends SnakepitError {
  readonly code = 'config_invalid';

  constructor(readonly problems: string[]) {
    super(
      `Invalid Snakepit options (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nFix these fields in SnakepitModule.forRoot()/forRootAsync().',
    );
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), problems: this.problems };
  }
}
