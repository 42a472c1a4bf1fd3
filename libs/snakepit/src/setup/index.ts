// The Python side of a project, for build scripts and deployment tooling: the same pieces the
// `snakepit` CLI is made of.
export * from '../python/python-packages';
export {
  choosePython,
  describePython,
  venvPython,
  RECORDED_PYTHON_FILE,
  type BridgeSource,
  type PythonChoice,
  type PythonRuntimeOptions,
  type PythonSource,
  type PythonStrategy,
} from '../python/python-runtime';
export { findProjectRoot } from '../python/project-root';
export { bridgePaths, type BridgePaths } from '../python/bridge-paths';
export { SNAKEPIT_VERSION } from '../version';
/** Runs the snakepit CLI with these arguments; resolves with its exit code. */
export { main as runSnakepitCli } from '../cli/main';
