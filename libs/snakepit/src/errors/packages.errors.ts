import { SnakepitError } from './snakepit.error';

/** The Python interpreter could not be run at all. */
export class PythonUnavailableError extends SnakepitError {
  readonly code = 'python_unavailable';
  constructor(readonly executable: string, detail: string) {
    super(`Cannot run Python "${executable}": ${detail}. Run "snakepit doctor" to see which interpreter is chosen and why.`);
  }
}

/** The package index (PyPI, or indexUrl) could not be reached. */
export class PackageIndexUnreachableError extends SnakepitError {
  readonly code = 'package_index_unreachable';
  constructor(readonly index: string, readonly output: string[]) {
    super(
      `The package index ${index} cannot be reached, so the requirements were not installed. ` +
        'Check the network or a proxy, or install from a local directory (findLinks, noIndex).' +
        (output.length ? `\nInstaller output:\n${output.join('\n')}` : ''),
    );
  }
}

/** The installer ran and failed (no matching version, a build error, an externally managed Python...). */
export class PackageInstallError extends SnakepitError {
  readonly code = 'package_install_failed';
  constructor(readonly requirements: string[], detail: string, readonly output: string[] = []) {
    super(
      `Installing ${requirements.join(', ')} failed: ${detail}` + (output.length ? `\nInstaller output:\n${output.join('\n')}` : ''),
    );
  }
}
