// Loaded before every test file (`node --import`): keep the AWS SDK and the CDK CLI
// away from the instance metadata address and from any telemetry endpoint.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID ??= 'AKIATESTTESTTESTTEST';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret-access-key';
process.env.AWS_REGION ??= 'eu-west-1';
process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
process.env.CDK_DISABLE_VERSION_CHECK = 'true';
process.env.K6_NO_USAGE_REPORT = 'true';
process.env.K6_AUTO_EXTENSION_RESOLUTION = 'false';
