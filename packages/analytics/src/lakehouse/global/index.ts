// The global views the daemon maintains, in the order they are built.
import type { GlobalView } from '../view.ts';
import { logEntriesView, logStatsView, measuresView } from './event_views.ts';
import { blocksView, processesView, streamsView } from './metadata_views.ts';
import { histogramsView, otelSpansView } from '../../otel/views.ts';

export { blocksView, processesView, streamsView, logEntriesView, measuresView, logStatsView, otelSpansView, histogramsView };
export { blocksSchema, processesSchema, streamsSchema } from './metadata_views.ts';
export { logStatsSchema, taggedObjectCount } from './event_views.ts';

export const DEFAULT_GLOBAL_VIEWS: readonly GlobalView[] = [blocksView, processesView, streamsView, logEntriesView, measuresView, otelSpansView, histogramsView, logStatsView];
