export { apiPath, withMutations, type Endpoint, type ReplicaTree } from './tree.js';
export { recordedTree } from './recorded.js';
export { SYNTHETIC_DEFAULTS, syntheticTree, type SyntheticOptions } from './synthetic.js';
export {
  BAD_IDS,
  OVERSIZED_DEFAULT_BYTES,
  FaultInjector,
  applyPathFault,
  type FailureKind,
  type FaultKind,
  type FaultOptions,
  type FaultPlan,
  type ItemFaultKind,
  type PathFault,
  type PathFaultKind,
  type RandomFaultKind,
} from './faults.js';
export { startReplica, type Replica, type ReplicaOptions, type ReplicaStats } from './server.js';
export { expectedCounts, type CrawlFilters, type ExpectedCounts } from './expected.js';
export type * from './types.js';
