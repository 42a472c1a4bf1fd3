import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRequirements } from './requirements-file';

describe('readRequirements', () => {
  it('keeps the requirements, drops comments and inline options, joins continuations, reports whole-line options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'snakepit-req-'));
    const file = join(dir, 'requirements.txt');
    writeFileSync(file, '# a comment\nnumpy>=1.26  # pinned\n\ntorch==2.1 \\\n    --hash=sha256:abc\n-r other.txt\nrequests; python_version > "3.8"\n');
    try {
      expect(readRequirements(file)).toEqual({ specs: ['numpy>=1.26', 'torch==2.1', 'requests; python_version > "3.8"'], skipped: ['-r other.txt'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
