/**
 * Helpers for acknowledging cdk-nag findings. cdk-nag 3 names each wildcard finding after
 * the policy resource as the template writes it, with `<LogicalId>` for a Ref and
 * `<LogicalId.Attribute>` for a GetAtt. These helpers derive the ids from the tokens the
 * policies use, so no logical id is written out by hand.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Flattens a resolved CloudFormation value the way cdk-nag 3.0 writes it into finding ids. */
export function flattenForNag(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value === null || typeof value !== 'object') return JSON.stringify(value);

  const node = value as Record<string, unknown>;
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(flattenForNag).join(delimiter);
  }
  if (node['Fn::Sub'] !== undefined) return flattenForNag(node['Fn::Sub']);
  if (Array.isArray(node['Fn::GetAtt'])) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenForNag(resource)}.${flattenForNag(attribute)}>`;
  }
  if (node['Fn::ImportValue'] !== undefined) return flattenForNag(node['Fn::ImportValue']);
  if (node.Ref !== undefined) return `<${flattenForNag(node.Ref)}>`;
  return JSON.stringify(value);
}

/** Acknowledges the AwsSolutions-IAM5 finding of each wildcard resource on `scope` and its children. */
export function acknowledgeWildcardResources(scope: IConstruct, resources: string[], reason: string): void {
  const stack = Stack.of(scope);
  Validations.of(scope).acknowledge(
    ...resources.map((resource) => ({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${flattenForNag(stack.resolve(resource))}]`,
      reason,
    })),
  );
}

/** Acknowledges the AwsSolutions-IAM5 finding of each wildcard action on `scope` and its children. */
export function acknowledgeWildcardActions(scope: IConstruct, actions: string[], reason: string): void {
  Validations.of(scope).acknowledge(...actions.map((action) => ({ id: `AwsSolutions::AwsSolutions-IAM5[Action::${action}]`, reason })));
}
