import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SnakepitModuleOptions } from './options/snakepit-options.interface';
import { SNAKEPIT_OPTIONS } from './snakepit.constants';

/** Nest's builder gives SnakepitModule its forRoot() and forRootAsync({ useFactory | useClass | useExisting }). */
export const { ConfigurableModuleClass: ConfigurableSnakepitModule, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<SnakepitModuleOptions>({ optionsInjectionToken: SNAKEPIT_OPTIONS })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createSnakepitOptions')
    .build();

/** What forRootAsync() takes: `imports`, and `useFactory` + `inject`, `useClass` or `useExisting`. */
export type SnakepitModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
