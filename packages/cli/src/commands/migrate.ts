import type { CommandBody } from '../command.ts';
import { LAKE_ENVIRONMENT, LAKE_OPTIONS, describeLake, openLakeFromOptions } from '../lake_options.ts';

export const migrateCommand: CommandBody = {
  description: 'Safe to run while services are starting: migrations take a PostgreSQL advisory lock.',
  options: { ...LAKE_OPTIONS },
  environment: LAKE_ENVIRONMENT,
  async run(values) {
    const lake = await openLakeFromOptions(values);
    try {
      const { rows } = await lake.db.query<{ version: number }>('SELECT version FROM migration');
      console.error(describeLake(lake));
      console.log(`data-lake schema version ${rows[0]?.version}`);
    } finally {
      await lake.close();
    }
    return 0;
  },
};
