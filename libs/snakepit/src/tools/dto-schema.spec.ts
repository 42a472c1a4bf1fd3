import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsHexColor, IsBoolean, IsEnum, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { dtoSchema } from './dto-schema';

enum Color {
  Red = 'red',
  Blue = 'blue',
}
enum Level {
  Low = 1,
  High = 2,
}

class Point {
  @IsNumber() x!: number;
  @IsNumber() y!: number;
}

class Everything {
  @IsString() @MaxLength(10) @Matches(/^[a-z]+$/) name!: string;
  @IsInt() @Min(1) @Max(5) count!: number;
  @IsOptional() @IsBoolean() flag?: boolean;
  @IsIn(['a', 'b']) mode!: string;
  @IsEnum(Color) color!: Color;
  @IsEnum(Level) level!: Level;
  @IsArray() @ArrayMaxSize(3) @IsInt({ each: true }) ids!: number[];
  @ValidateNested() @Type(() => Point) origin!: Point;
}

describe('dtoSchema (host tool DTOs as JSON Schema)', () => {
  it('maps the rules, the optional fields and nested DTOs', () => {
    expect(dtoSchema(Everything)).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        color: { enum: ['red', 'blue'] },
        count: { type: 'integer', minimum: 1, maximum: 5 },
        flag: { type: 'boolean' },
        ids: { type: 'array', maxItems: 3, items: { type: 'integer' } },
        level: { enum: [1, 2] },
        mode: { enum: ['a', 'b'] },
        name: { type: 'string', maxLength: 10, pattern: '^[a-z]+$' },
        origin: { $ref: '#/$defs/Point' },
      },
      required: ['color', 'count', 'ids', 'level', 'mode', 'name', 'origin'],
      additionalProperties: false,
      $defs: { Point: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'], additionalProperties: false } },
    });
  });

  it('names the rules it cannot express, and a DTO of optional fields requires none', () => {
    class Odd {
      @IsOptional() @IsString() @IsHexColor() note?: string;
    }
    expect(dtoSchema(Odd)).toMatchObject({ properties: { note: { type: 'string', description: 'also checked on the host: isHexColor' } } });
    expect(dtoSchema(Odd).required).toBeUndefined();
  });
});
