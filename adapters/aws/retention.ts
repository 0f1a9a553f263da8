/**
 * Object tags that the results bucket's lifecycle rules select on. S3 lifecycle
 * filters match a key prefix or tags, and windows sit deep inside
 * `runs/<env>/<runId>/segments/<i>/windows/`, so the store tags them when it writes them.
 * The CDK stack imports these names for its rules; keep this module free of SDK imports.
 */
export const RETENTION_TAG_KEY = 'soak-retention';

export const RetentionClass = {
  /** 10-second windows and their rollups: the bulk of the bytes, needed only until the report exists. */
  Windows: 'windows',
} as const;

const WINDOWS_KEY = /(^|\/)segments\/\d+\/(windows|rollups)\//;

/** Returns the retention class of a store key, or undefined for keys kept by prefix rules. */
export function retentionClassOf(key: string): string | undefined {
  return WINDOWS_KEY.test(key) ? RetentionClass.Windows : undefined;
}
