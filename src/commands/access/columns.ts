import type { Grant } from '../../api/types';
import type { Column } from '../../ui/output';
import { age, statusStyle } from '../../ui/format';

export function grantStatus(g: Grant): string {
  return g.reconcile_status === 'failed' && g.reconcile_error ? `failed: ${g.reconcile_error}` : g.reconcile_status;
}

export const GRANT_COLUMNS: Column<Grant>[] = [
  { header: 'ID', value: (g) => g.id },
  { header: 'User', value: (g) => g.user_email ?? g.ankra_user_id },
  { header: 'Scope', value: (g) => g.scope },
  { header: 'Namespace', value: (g) => g.namespace ?? '-' },
  { header: 'Role', value: (g) => g.role },
  { header: 'Status', value: grantStatus, style: (g) => statusStyle(g.reconcile_status) },
  { header: 'Age', value: (g) => age(g.created_at) },
];
