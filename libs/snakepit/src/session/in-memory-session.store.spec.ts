import { InMemorySessionStore } from './in-memory-session.store';
import { describeSessionStore } from '../../test-support/session-store-contract';

describeSessionStore('InMemorySessionStore', async (maxTotalBytes) => {
  const store = new InMemorySessionStore({ maxTotalBytes });
  return { store, bytes: async () => store.bytes };
});
