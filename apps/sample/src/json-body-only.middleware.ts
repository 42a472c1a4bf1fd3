import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Every body this app reads is JSON: a request that sends anything else gets 415. */
@Injectable()
export class JsonBodyOnlyMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!hasBody || type === 'application/json') return next();
    res.status(415).json({ error: { code: 'unsupported_media_type', message: 'Send the body as JSON, with content-type: application/json.' } });
  }
}
