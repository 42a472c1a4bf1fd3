// Jest 30 cannot load NestJS 12's ESM-only packages as shipped on Node 20: @swc/jest
// transforms them (and our TypeScript, with legacy decorators and their metadata).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

const common = {
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs)/)'],
  moduleNameMapper: {
    '^@snakepit/nestjs$': '<rootDir>/libs/snakepit/src',
    '^@snakepit/nestjs/(.*)$': '<rootDir>/libs/snakepit/src/$1',
  },
  testEnvironment: 'node',
  // The package's build output and the copies `npm pack` makes beside it (scripts/build-package.js).
  modulePathIgnorePatterns: ['<rootDir>/libs/snakepit/dist', '<rootDir>/libs/snakepit/priv', '<rootDir>/test/consumer/app'],
};

module.exports = {
  // Jest 30 ignores testTimeout inside a project: the end-to-end tests need it here.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], testTimeout: 60000 },
  ],
};
