import { classifyStatement } from './influxql-ddl.ts';
import { locateStatements } from './influxql-splitter.ts';

/**
 * Why a stored continuous query is not what the cluster document says it is,
 * or undefined: its text must be exactly one `CREATE CONTINUOUS QUERY` named
 * `name` ON `database`. An agent runs the text verbatim with its admin
 * identity, so anything else (another statement, a second one after a `;`)
 * would be an injection through the document.
 */
export function continuousQueryProblem(query: string, database: string, name: string): string | undefined {
  const statements = locateStatements(query);
  if (statements.length !== 1) return `must be one CREATE CONTINUOUS QUERY statement, found ${statements.length} statements`;
  const statement = classifyStatement(statements[0]!);
  if (statement.kind === 'error') return `does not parse: ${statement.message}`;
  if (statement.kind !== 'ddl' || statement.operation.op !== 'createContinuousQuery') return 'must be a CREATE CONTINUOUS QUERY statement';
  if (statement.operation.database !== database) return `is ON "${statement.operation.database}", not on its own database "${database}"`;
  if (statement.operation.name !== name) return `creates "${statement.operation.name}", not "${name}"`;
  return undefined;
}
