import { SnakepitError } from './snakepit.error';

/** What Python sent about an exception raised by a tool. */
export interface PythonErrorInfo {
  type: string;
  message: string;
  traceback: string;
  module?: string;
  /** Built-in base classes, nearest first (e.g. JSONDecodeError → ["ValueError", "Exception"]). */
  bases?: string[];
}

/**
 * An exception raised by Python code. Subclasses name the common built-in types;
 * `PythonException` stands for every other type. `pythonType`, `message` and
 * `traceback` are Python's own.
 */
export abstract class PythonError extends SnakepitError {
  readonly pythonType: string;
  readonly traceback: string;
  readonly pythonModule?: string;

  constructor(info: PythonErrorInfo) {
    super(info.message);
    this.pythonType = info.type;
    this.traceback = info.traceback;
    this.pythonModule = info.module;
    if (info.traceback) this.stack = `${this.stack}\n--- Python traceback ---\n${info.traceback}`;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), pythonType: this.pythonType, traceback: this.traceback };
  }
}

export class PythonValueError extends PythonError { readonly code = 'python_value_error'; }
export class PythonKeyError extends PythonError { readonly code = 'python_key_error'; }
export class PythonIndexError extends PythonError { readonly code = 'python_index_error'; }
export class PythonTypeError extends PythonError { readonly code = 'python_type_error'; }
export class PythonAttributeError extends PythonError { readonly code = 'python_attribute_error'; }
export class PythonImportError extends PythonError { readonly code = 'python_import_error'; }
export class PythonRuntimeError extends PythonError { readonly code = 'python_runtime_error'; }
export class PythonNotImplementedError extends PythonError { readonly code = 'python_not_implemented_error'; }
export class PythonFileNotFoundError extends PythonError { readonly code = 'python_file_not_found_error'; }
export class PythonPermissionError extends PythonError { readonly code = 'python_permission_error'; }
export class PythonZeroDivisionError extends PythonError { readonly code = 'python_zero_division_error'; }
/** A LookupError that is neither a KeyError nor an IndexError (its own subclasses, say). */
export class PythonLookupError extends PythonError { readonly code = 'python_lookup_error'; }
/** An ArithmeticError other than ZeroDivisionError: OverflowError, FloatingPointError, … */
export class PythonArithmeticError extends PythonError { readonly code = 'python_arithmetic_error'; }
/** An OSError other than the ones with classes here: ConnectionError, IsADirectoryError, … */
export class PythonOSError extends PythonError { readonly code = 'python_os_error'; }
export class PythonTimeoutError extends PythonError { readonly code = 'python_timeout_error'; }
/** Any Python exception type without a class of its own here. */
export class PythonException extends PythonError { readonly code = 'python_exception'; }

type PythonErrorClass = new (info: PythonErrorInfo) => PythonError;

const BY_PYTHON_TYPE: ReadonlyMap<string, PythonErrorClass> = new Map<string, PythonErrorClass>([
  ['ValueError', PythonValueError],
  ['KeyError', PythonKeyError],
  ['IndexError', PythonIndexError],
  ['TypeError', PythonTypeError],
  ['AttributeError', PythonAttributeError],
  ['ImportError', PythonImportError],
  ['ModuleNotFoundError', PythonImportError],
  ['RuntimeError', PythonRuntimeError],
  ['NotImplementedError', PythonNotImplementedError],
  ['FileNotFoundError', PythonFileNotFoundError],
  ['PermissionError', PythonPermissionError],
  ['ZeroDivisionError', PythonZeroDivisionError],
  ['TimeoutError', PythonTimeoutError],
  ['LookupError', PythonLookupError],
  ['ArithmeticError', PythonArithmeticError],
  ['OSError', PythonOSError],
]);

/** The typed error for a Python exception: by its own type, else by its nearest built-in base
 *  (a JSONDecodeError is a PythonValueError), else `PythonException`. */
export function pythonErrorFrom(info: PythonErrorInfo): PythonError {
  const known = [info.type, ...(info.bases ?? [])].find((type) => BY_PYTHON_TYPE.has(type));
  const ErrorClass = known ? BY_PYTHON_TYPE.get(known)! : PythonException;
  return new ErrorClass(info);
}
