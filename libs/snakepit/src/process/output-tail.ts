import type { Readable } from 'node:stream';

/** Splits a stream into lines, hands each to `onLine`, and keeps the last `limit` lines. */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly limit = 50, private readonly onLine?: (line: string, stream: string) => void) {}

  follow(stream: Readable, name: string): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.push(chunk, name));
    stream.on('end', () => this.flush(name));
  }

  /** The last lines, oldest first. */
  snapshot(): string[] {
    return this.partial ? [...this.lines, this.partial] : [...this.lines];
  }

  private push(chunk: string, name: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.record(line.replace(/\r$/, ''), name);
  }

  private flush(name: string): void {
    if (this.partial) this.record(this.partial, name);
    this.partial = '';
  }

  private record(line: string, name: string): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
    this.onLine?.(line, name);
  }
}
