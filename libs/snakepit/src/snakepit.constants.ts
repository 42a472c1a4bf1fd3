/** Injection token of the raw options given to forRoot()/forRootAsync(). */
export const SNAKEPIT_OPTIONS = Symbol('snakepit:options');
