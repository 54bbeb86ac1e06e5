/**
 * Every command, in the order `--help` lists them, and the groups between them. To add a
 * command: write `commands/<its path>.ts` (see any file here) and add it to this list.
 */
import type { CommandSpec, GroupSpec } from '../cli/spec';
import login from './login';
import logout from './logout';
import authStatus from './auth/status';
import authToken from './auth/token';
import orgList from './org/list';
import clusterList from './cluster/list';
import clusterSelect from './cluster/select';
import accessList from './cluster/access/list';
import accessGrant from './cluster/access/grant';
import accessRevoke from './cluster/access/revoke';
import accessWait from './cluster/access/wait';
import accessMembers from './cluster/access/org-members';
import accessApply from './cluster/access/apply';
import accessDiff from './cluster/access/diff';
import accessExport from './cluster/access/export';
import accessReview from './cluster/access/review';
import kubeconfigAdd from './cluster/kubeconfig/add';
import kubeconfigRemove from './cluster/kubeconfig/remove';
import kubeconfigList from './cluster/kubeconfig/list';
import kubeToken from './cluster/kube-token';
import doctor from './doctor';
import completion from './completion';
import version from './version';
import help from './help';

export const COMMANDS: readonly CommandSpec[] = [
  login,
  logout,
  authStatus,
  authToken,
  orgList,
  clusterList,
  clusterSelect,
  accessList,
  accessGrant,
  accessRevoke,
  accessWait,
  accessMembers,
  accessApply,
  accessDiff,
  accessExport,
  accessReview,
  kubeconfigAdd,
  kubeconfigRemove,
  kubeconfigList,
  kubeToken,
  doctor,
  completion,
  version,
  help,
] as unknown as readonly CommandSpec[];

export const GROUPS: readonly GroupSpec[] = [
  { path: ['auth'], summary: 'how ankra authenticates', examples: ['ankra auth status', 'ankra auth token'] },
  { path: ['org'], summary: 'organisations', examples: ['ankra org list'] },
  {
    path: ['cluster'],
    summary: 'clusters, access grants, kubeconfig and the kubectl credential plugin',
    examples: ['ankra cluster list', 'ankra cluster access grant alice@example.com --cluster staging --wait', 'ankra cluster kubeconfig add staging --use'],
  },
  {
    path: ['cluster', 'access'],
    summary: 'who may reach a cluster with kubectl, and how',
    examples: ['ankra cluster access list staging', 'ankra cluster access grant alice@example.com --cluster staging --role edit --namespace team-a --wait'],
  },
  { path: ['cluster', 'kubeconfig'], summary: 'kubectl contexts that reach clusters through Ankra', examples: ['ankra cluster kubeconfig add staging --namespace team-a --use', 'ankra cluster kubeconfig list'] },
];
