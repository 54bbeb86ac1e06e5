/**
 * What the access-as-code commands tell people in `--help` (and the README repeats): the
 * file's shape and the exit codes. No yaml here: command files import it at start-up.
 */

/**
 * Exit code of `diff` when the platform differs from the file and of `review --fail-on`
 * when a listed kind is found: outside the 0–7 every command shares (with room for that
 * table to grow), and not 2, which means a usage error here, as in Ankra's Go CLI.
 */
export const FOUND_EXIT = 10;

export const FILE_HELP = `The access file lists, per cluster (its name or id), who has which role:

  # who may reach what (ankra cluster access apply -f access.yaml)
  clusters:
    staging:
      - {email: alice@example.com, role: edit, namespace: team-a}
      - {email: bob@example.com, role: view}    # the whole cluster
    prod-eu:
      - {email: alice@example.com, role: view}
    dev: []                                     # nobody (with --prune)

Roles: view, edit, admin, cluster-admin (whole cluster only). One role per person and scope (a namespace, or the whole cluster); every email must be an active member of the organisation. Only the clusters the file names are touched. A file with any problem changes nothing: each problem is reported with its line, column and field. \`ankra cluster access export\` writes today's grants in this format.`;
