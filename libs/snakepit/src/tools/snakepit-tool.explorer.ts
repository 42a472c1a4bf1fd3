import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { SNAKEPIT_TOOL_METADATA } from '../snakepit.constants';
import { isDtoClass } from './dto-validation';
import type { HostToolOptions } from './host-tool.types';
import { ToolRegistryService } from './tool-registry.service';

/** Finds @SnakepitTool() methods on the app's providers at boot and registers them. */
@Injectable()
export class SnakepitToolExplorer implements OnModuleInit {
  private readonly logger = new Logger('Snakepit:tools');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: ToolRegistryService,
  ) {}

  onModuleInit(): void {
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance;
      if (!instance || typeof instance !== 'object' || seen.has(instance)) continue; // aliases share an instance
      seen.add(instance);
      const prototype = Object.getPrototypeOf(instance);
      if (!wrapper.isDependencyTreeStatic()) {
        const tools = this.scanner.getAllMethodNames(prototype).filter((m) => Reflect.getMetadata(SNAKEPIT_TOOL_METADATA, prototype[m]));
        if (tools.length) this.logger.warn(`@SnakepitTool on ${wrapper.name} (${tools.join(', ')}) is ignored: the provider is request-scoped`);
        continue;
      }
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const options: HostToolOptions | undefined = Reflect.getMetadata(SNAKEPIT_TOOL_METADATA, prototype[method]);
        if (!options) continue;
        const [firstParameter] = Reflect.getMetadata('design:paramtypes', prototype, method) ?? [];
        this.registry.register(options.name ?? method, prototype[method].bind(instance), {
          description: options.description,
          parameters: options.parameters ?? (isDtoClass(firstParameter) ? firstParameter : undefined),
        });
      }
    }
  }
}
