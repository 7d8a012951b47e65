/** The reference of `npm run bench:coldstart`: a hello-world v4 app, one anonymous HTTP function. */
import { app } from '@azure/functions';

app.http('hello', {
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => ({ status: 200, body: 'Hello, world!' }),
});
