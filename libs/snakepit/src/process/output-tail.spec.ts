import { PassThrough } from 'node:stream';
import { OutputTail } from './output-tail';

describe('OutputTail', () => {
  it('keeps an unfinished line per stream, so stdout and stderr never glue together', async () => {
    const seen: Array<[string, string]> = [];
    const tail = new OutputTail(10, (line, stream) => seen.push([stream, line]));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    tail.follow(stdout, 'stdout');
    tail.follow(stderr, 'stderr');
    stdout.write('progress: 5');
    stderr.write('warning: slow\n');
    stdout.write('0%\r\nno newline at the end');
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([
      ['stderr', 'warning: slow'],
      ['stdout', 'progress: 50%'],
    ]);
    expect(tail.snapshot()).toEqual(['warning: slow', 'progress: 50%', 'no newline at the end']);
    stdout.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.at(-1)).toEqual(['stdout', 'no newline at the end']);
  });

  it('keeps only the last lines', async () => {
    const tail = new OutputTail(2);
    const stream = new PassThrough();
    tail.follow(stream, 'stdout');
    stream.write('a\nb\nc\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(tail.snapshot()).toEqual(['b', 'c']);
  });
});
