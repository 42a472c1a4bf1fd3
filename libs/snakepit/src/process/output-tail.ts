import type { Readable } from 'node:stream';

/** Splits streams into lines, hands each to `onLine`, and keeps the last `limit` lines. Each
 *  stream has its own unfinished line, so stdout and stderr never glue into one. */
export class OutputTail {
  private readonly lines: string[] = [];
  private readonly partial = new Map<string, string>();

  constructor(private readonly limit = 50, private readonly onLine?: (line: string, stream: string) => void) {}

  follow(stream: Readable, name: string): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.push(chunk, name));
    stream.on('end', () => this.flush(name));
  }

  /** The last lines, oldest first, then any unfinished ones. */
  snapshot(): string[] {
    return [...this.lines, ...[...this.partial.values()].filter(Boolean)];
  }

  private push(chunk: string, name: string): void {
    const parts = ((this.partial.get(name) ?? '') + chunk).split('\n');
    this.partial.set(name, parts.pop() ?? '');
    for (const line of parts) this.record(line.replace(/\r$/, ''), name);
  }

  private flush(name: string): void {
    const rest = this.partial.get(name);
    if (rest) this.record(rest, name);
    this.partial.delete(name);
  }

  private record(line: string, name: string): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
    this.onLine?.(line, name);
  }
}
