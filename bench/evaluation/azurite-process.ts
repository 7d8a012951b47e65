/**
 * Benchmark child: Azurite (in memory) in its own process, so its CPU and memory are not the app's.
 */
import { startAzurite } from '../../local/azurite.js';
import { serveParent } from './ipc.js';

const azurite = await startAzurite();
serveParent({ connectionString: azurite.connectionString, tableEndpoint: azurite.tableEndpoint }, {}, () => azurite.stop());
