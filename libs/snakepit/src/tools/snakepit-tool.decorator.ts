import { SetMetadata } from '@nestjs/common';
import { SNAKEPIT_TOOL_METADATA } from '../snakepit.constants';
import type { HostToolOptions } from './host-tool.types';

/**
 * Makes a provider's method a host tool that Python can call. Discovered at boot and
 * registered with `this` bound; async methods work. The method gets the arguments (as an
 * instance of its DTO class when it has one) and a HostToolContext.
 */
export const SnakepitTool = (options: HostToolOptions = {}): MethodDecorator => SetMetadata(SNAKEPIT_TOOL_METADATA, options);
