/** The injection token of SnakepitHostModule's resolved options. */
export const SNAKEPIT_HOST_OPTIONS = Symbol('SNAKEPIT_HOST_OPTIONS');
