// Child process for the crash test: materializes a lake's views in a loop until it is killed.
// argv: <pg url> <object store uri> <begin ns> <end ns> <process id>
import { openDatabase, openObjectStore } from '@micromegas/lake';
import { DEFAULT_GLOBAL_VIEWS, jitUpdate, makeJitView, materializeGlobalViews, openLakehouse, retirePartitions } from '../src/index.ts';
import { NS_PER_SECOND } from '../src/lakehouse/view.ts';

const [url, storeUri, beginText, endText, processId] = process.argv.slice(2);
const db = await openDatabase({ connectionString: url!, dataDir: '' });
const blobs = openObjectStore(storeUri!);
const house = await openLakehouse({ db, blobs }, { log: () => {}, migrate: false });
const begin = BigInt(beginText!);
const end = BigInt(endText!);
process.stdout.write('started\n');
for (;;) {
  // Force real work on every round: drop what exists, then rebuild global and per-process views.
  for (const set of ['blocks', 'log_entries', 'measures']) await retirePartitions(db, set, 'global', begin, end);
  await retirePartitions(db, 'log_entries', processId!, 0n, end + 3600n * NS_PER_SECOND);
  await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, begin, end, NS_PER_SECOND);
  await jitUpdate(house, await makeJitView(house, 'log_entries', processId!), { begin: 0n, end: end + 3600n * NS_PER_SECOND });
  process.stdout.write('round\n');
}
