import { z } from 'zod';

export const mediaConfigSchema = z.object({}).strict().default({});
