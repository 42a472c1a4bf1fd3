/**
 * The version of @snakepit/nestjs, and of the snakepit-bridge Python package it ships: a worker
 * refuses to start when the bridge it imported is another version. A test keeps it equal to
 * libs/snakepit/package.json, priv/python/snakepit_bridge/__init__.py and pyproject.toml.
 */
export const SNAKEPIT_VERSION = '0.1.0';
