import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CodeBlock {
  language: string;
  /** The README line of the opening fence. */
  line: number;
  code: string;
}

/** The fenced code blocks of the repository's README, in order. */
export function readmeBlocks(language: string): CodeBlock[] {
  const lines = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.findIndex((text, j) => j > i && text.startsWith('```'));
    if (fence[1] === language) blocks.push({ language, line: i + 1, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/**
 * The README's TypeScript blocks as files of an app: a block that starts with a path comment
 * (`// src/app.module.ts`) goes there, below `dir`, so the quick start's files import each other;
 * the others are `dir/readme-<line>.ts`.
 */
export function readmeSources(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const block of readmeBlocks('ts')) {
    const path = /^\/\/ src\/(\S+\.ts)\n/.exec(block.code)?.[1] ?? `readme-${block.line}.ts`;
    files[join(dir, path)] = `// README.md line ${block.line}\n${block.code}\n`;
  }
  return files;
}
