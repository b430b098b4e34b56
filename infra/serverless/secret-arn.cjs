// Resolves `${file(infra/serverless/secret-arn.cjs)}` in serverless.yml: the IAM resource for
// the registry-auth secret named by the `registryAuthSecret` param. The function receives the
// same value as IMAGESYNC_REGISTRY_AUTH_SECRET and passes it to GetSecretValue as SecretId,
// which accepts a name or an ARN; IAM needs an ARN:
// - a full ARN is used as is;
// - a name becomes `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-??????`,
//   the pattern AWS documents for a secret's ARN (the name plus 6 random characters), which
//   matches that secret and no other (`<name>-x` would need more characters).
// An empty param resolves to a placeholder: the policy is then not created at all (its
// Condition is false), so the placeholder never reaches IAM.
// A secret encrypted with a customer-managed KMS key also needs kms:Decrypt on that key (the
// default aws/secretsmanager key needs nothing): not granted here, add it next to the policy.
// CommonJS because the framework loads variable files with require().
'use strict';

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

function secretResource(value) {
  const secret = (value ?? '').trim();
  if (secret === '') return 'arn:aws:secretsmanager:none:000000000000:secret:none';
  if (secret.startsWith('arn:')) return secret;
  if (!SECRET_NAME.test(secret)) {
    const error = new Error(`registryAuthSecret: "${secret}" is neither a secret name nor an ARN`);
    error.stack = error.message; // the framework prints the stack: one line is enough for a user mistake
    throw error;
  }
  return { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secret}-??????` };
}

module.exports = async ({ resolveVariable }) => secretResource(await resolveVariable('param:registryAuthSecret'));
module.exports.secretResource = secretResource;
