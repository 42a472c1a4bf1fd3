import { Injectable } from '@nestjs/common';
import { SnakepitTool } from '@snakepit/nestjs';
import { IsNumber } from 'class-validator';

/** Arguments of the `add` host tool: validated before the method runs. */
export class AddArgs {
  @IsNumber() a: number;
  @IsNumber() b: number;
}

/** Host tools of the sample app: Python calls them with `self.session_context.call_host_tool(...)`. */
@Injectable()
export class MathTools {
  @SnakepitTool({ description: 'Add two numbers on the host' })
  add({ a, b }: AddArgs): number {
    return a + b;
  }
}
