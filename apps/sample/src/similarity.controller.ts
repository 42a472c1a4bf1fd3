import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ndarray, PoolService, type NdArray } from '@snakepit/nestjs';
import { RequestAbortSignal } from '@snakepit/nestjs/http';

/** The README's worked example over HTTP: embeddings in, similarity scores out. */
@Controller('similarity')
export class SimilarityController {
  constructor(private readonly pool: PoolService) {}

  /** `{ query: number[], embeddings: number[][] }` → `{ scores: number[] }`, one per row. */
  @Post()
  @HttpCode(200)
  async similarity(@Body() body: { query?: unknown; embeddings?: unknown } | undefined, @RequestAbortSignal() signal: AbortSignal) {
    const { query, rows } = parse(body);
    const dims = query.length;
    const embeddings = ndarray(Float32Array.from(rows.flat()), [rows.length, dims]);
    const scores = await this.pool.execute<NdArray<Float32Array>>('similarity', { query: Float32Array.from(query), embeddings }, { signal });
    return { scores: Array.from(scores.data) };
  }
}

function parse(body: { query?: unknown; embeddings?: unknown } | undefined): { query: number[]; rows: number[][] } {
  const numbers = (value: unknown): value is number[] => Array.isArray(value) && value.length > 0 && value.every((x) => typeof x === 'number' && Number.isFinite(x));
  const problems: string[] = [];
  if (!numbers(body?.query)) problems.push('query must be a non-empty array of finite numbers');
  const rows = body?.embeddings;
  if (!Array.isArray(rows) || rows.length === 0 || !rows.every(numbers)) problems.push('embeddings must be a non-empty array of arrays of finite numbers');
  else if (numbers(body?.query) && rows.some((row) => row.length !== (body!.query as number[]).length)) problems.push('every embedding must have as many numbers as query');
  if (problems.length) throw new BadRequestException(problems);
  return { query: body!.query as number[], rows: rows as number[][] };
}
