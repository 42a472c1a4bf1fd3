import { Injectable, type INestApplication, type OnApplicationBootstrap } from '@nestjs/common';
import { SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { PoolService, SNAKEPIT_VERSION, ToolRegistryService } from '@snakepit/nestjs';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi';

const INFO = { title: 'Snakepit sample', version: SNAKEPIT_VERSION };

/** The OpenAPI document of this app's Python tools, built once at boot when the pool is ready
 *  (its workers have described their tools then). Boot does not wait for it. */
@Injectable()
export class ApiDocs implements OnApplicationBootstrap {
  private document?: Promise<OpenApiDocument>;

  constructor(
    private readonly pool: PoolService,
    private readonly registry: ToolRegistryService,
  ) {}

  onApplicationBootstrap(): void {
    void this.get();
  }

  get(): Promise<OpenApiDocument> {
    this.document ??= this.pool.ready().then(
      () => buildOpenApiDocument(this.registry.listPythonTools(), INFO),
      (error: Error) => buildOpenApiDocument([], { ...INFO, description: `The pool did not start (${error.message}): no tools to show.` }),
    );
    return this.document;
  }
}

/** Swagger UI at /docs and the document at /docs-json. Call it before `app.listen()` (routes
 *  added later would come after Nest's 404 handler), in an app with ApiDocs (local mode). */
export function serveApiDocs(app: INestApplication): void {
  const docs = app.get(ApiDocs);
  SwaggerModule.setup('docs', app, () => ({ openapi: '3.1.0', info: INFO, paths: {} }), {
    raw: ['json'],
    customSiteTitle: `${INFO.title}: API`,
    patchDocumentOnRequest: async () => (await docs.get()) as unknown as OpenAPIObject,
  });
}
