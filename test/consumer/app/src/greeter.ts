import { Injectable } from '@nestjs/common';
import { SnakepitTool } from '@snakepit/nestjs';
import { IsString, MinLength } from 'class-validator';

export class GreetArgs {
  @IsString() @MinLength(1) name!: string;
}

@Injectable()
export class Greeter {
  @SnakepitTool({ description: 'Greets someone, on the host' })
  greet({ name }: GreetArgs): string {
    return `Hello, ${name}`;
  }
}
