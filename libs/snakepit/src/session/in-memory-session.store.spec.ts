import { InMemorySessionStore } from './in-memory-session.store';
import { describeSessionStore } from '../../test-support/session-store-contract';

describeSessionStore('InMemorySessionStore', async (maxTotalBytes) => ({ store: new InMemorySessionStore({ maxTotalBytes }) }));
