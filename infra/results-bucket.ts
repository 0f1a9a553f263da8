/**
 * The results bucket of one environment: run manifests, windows, segment results,
 * reports, history summaries and the lock, laid out as `keys` in core/ports.ts describes.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RETENTION_TAG_KEY, RetentionClass } from '../adapters/aws/retention.js';
import type { DeployBlock } from '../core/deploy-config.js';

export interface ResultsBucketProps {
  envName: string;
  results: DeployBlock['results'];
}

/** Key prefixes of one environment, matching `keys` in core/ports.ts. */
export function storePrefixes(envName: string) {
  return {
    runs: `runs/${envName}/`,
    history: `history/${envName}/`,
    lock: `locks/${envName}.json`,
  };
}

export class ResultsBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket | undefined;

  constructor(scope: Construct, id: string, props: ResultsBucketProps) {
    super(scope, id);
    const { results } = props;

    this.accessLogsBucket = results.accessLogDays === null ? undefined : this.#createAccessLogsBucket(results.accessLogDays);

    const lifecycleRules: s3.LifecycleRule[] = [
      {
        id: 'expire-windows',
        prefix: 'runs/',
        tagFilters: { [RETENTION_TAG_KEY]: RetentionClass.Windows },
        expiration: Duration.days(results.windowsDays),
      },
      { id: 'expire-runs', prefix: 'runs/', expiration: Duration.days(results.reportsDays) },
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ];
    if (results.historyDays !== null) {
      lifecycleRules.push({ id: 'expire-history', prefix: 'history/', expiration: Duration.days(results.historyDays) });
    }

    // Versioning stays off. Create-only writes (If-None-Match) already keep a second
    // finalizer or a duplicate trigger from overwriting a manifest or report, and with
    // versioning every overwritten manifest and expired window would leave a noncurrent
    // version behind that needs its own expiry rule.
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: false,
      lifecycleRules,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: this.accessLogsBucket === undefined ? undefined : 'results-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (this.accessLogsBucket === undefined) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions::AwsSolutions-S1',
        reason: 'Server access logging is turned off in this environment\'s deploy configuration (results.accessLogDays is null).',
      });
    }
  }

  /** Adds statements for the keys a role reads, writes and deletes; every role may list the bucket. */
  grantStoreAccess(role: iam.IGrantable, access: { read: string[]; write: string[]; delete?: string[]; tagOnWrite?: boolean }): void {
    const objectArns = (patterns: string[]) => patterns.map((pattern) => this.bucket.arnForObjects(pattern));

    // With s3:ListBucket, S3 returns 404 instead of 403 for a missing key, which the store reads as "absent".
    role.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    if (access.read.length > 0) {
      role.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objectArns(access.read) }));
    }
    if (access.write.length > 0) {
      const actions = access.tagOnWrite ? ['s3:PutObject', 's3:PutObjectTagging'] : ['s3:PutObject'];
      role.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: objectArns(access.write) }));
    }
    if (access.delete !== undefined && access.delete.length > 0) {
      role.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: objectArns(access.delete) }));
    }
  }

  #createAccessLogsBucket(days: number): s3.Bucket {
    // S3 delivers access logs only to buckets encrypted with S3-managed keys.
    const bucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(days) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // cdk-nag's S1 rule accepts this bucket without access logs of its own, because another
    // bucket of the stack names it as its logging destination.
    return bucket;
  }
}
