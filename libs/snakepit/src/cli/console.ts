/** What the CLI prints: numbered steps, their outcome, and a fix for every failure. */
export class CliConsole {
  private failed = 0;

  constructor(private readonly write: (text: string) => void = (text) => process.stdout.write(text)) {}

  get failures(): number {
    return this.failed;
  }

  step(index: number, total: number, what: string): void {
    this.write(`[${index}/${total}] ${what}\n`);
  }

  ok(detail: string): void {
    this.write(`      ok: ${detail}\n`);
  }

  fail(detail: string, fix: string): void {
    this.failed++;
    this.write(`      FAILED: ${detail}\n      fix: ${fix}\n`);
  }

  info(text: string): void {
    this.write(`${text}\n`);
  }

  /** A line of a long-running tool's output, indented under its step. */
  progress(line: string): void {
    this.write(`        ${line}\n`);
  }
}
